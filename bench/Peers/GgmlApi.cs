using System.Runtime.InteropServices;

namespace Accel.Peers;

/// <summary><c>struct ggml_init_params</c> (ggml.h): memory pool size, optional buffer, and whether tensors get no data.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct GgmlInitParams
{
    public nuint MemSize;
    public IntPtr MemBuffer;
    public byte NoAlloc;
}

/// <summary>
/// The ggml entry points the peer uses, bound by name as unmanaged function pointers. Signatures
/// follow ggml.h / ggml-alloc.h / ggml-backend.h / ggml-cpu.h (pointers as IntPtr, bool as byte,
/// int64_t as long, size_t as nuint, enums as int).
/// </summary>
internal sealed unsafe class GgmlApi
{
    public GgmlApi(Func<string, IntPtr> baseLib, Func<string, IntPtr> cpuLib)
    {
        Version = (delegate* unmanaged<IntPtr>)baseLib("ggml_version");
        Commit = (delegate* unmanaged<IntPtr>)baseLib("ggml_commit");
        Init = (delegate* unmanaged<GgmlInitParams, IntPtr>)baseLib("ggml_init");
        Free = (delegate* unmanaged<IntPtr, void>)baseLib("ggml_free");
        TensorOverhead = (delegate* unmanaged<nuint>)baseLib("ggml_tensor_overhead");
        GraphOverheadCustom = (delegate* unmanaged<nuint, byte, nuint>)baseLib("ggml_graph_overhead_custom");
        TypeName = (delegate* unmanaged<int, IntPtr>)baseLib("ggml_type_name");
        TypeSize = (delegate* unmanaged<int, nuint>)baseLib("ggml_type_size");
        BlckSize = (delegate* unmanaged<int, long>)baseLib("ggml_blck_size");
        RowSize = (delegate* unmanaged<int, long, nuint>)baseLib("ggml_row_size");
        Nbytes = (delegate* unmanaged<IntPtr, nuint>)baseLib("ggml_nbytes");
        Nelements = (delegate* unmanaged<IntPtr, long>)baseLib("ggml_nelements");
        GetTypeTraits = (delegate* unmanaged<int, IntPtr>)baseLib("ggml_get_type_traits");
        QuantizeChunk = (delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint>)baseLib("ggml_quantize_chunk");
        NewTensor1d = (delegate* unmanaged<IntPtr, int, long, IntPtr>)baseLib("ggml_new_tensor_1d");
        NewTensor2d = (delegate* unmanaged<IntPtr, int, long, long, IntPtr>)baseLib("ggml_new_tensor_2d");
        NewTensor3d = (delegate* unmanaged<IntPtr, int, long, long, long, IntPtr>)baseLib("ggml_new_tensor_3d");
        SetName = (delegate* unmanaged<IntPtr, byte*, IntPtr>)baseLib("ggml_set_name");
        SetInput = (delegate* unmanaged<IntPtr, void>)baseLib("ggml_set_input");
        SetOutput = (delegate* unmanaged<IntPtr, void>)baseLib("ggml_set_output");
        MulMat = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)baseLib("ggml_mul_mat");
        MulMatId = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr>)baseLib("ggml_mul_mat_id");
        Add = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)baseLib("ggml_add");
        Mul = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)baseLib("ggml_mul");
        Div = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)baseLib("ggml_div");
        Sigmoid = (delegate* unmanaged<IntPtr, IntPtr, IntPtr>)baseLib("ggml_sigmoid");
        Softplus = (delegate* unmanaged<IntPtr, IntPtr, IntPtr>)baseLib("ggml_softplus");
        Sqrt = (delegate* unmanaged<IntPtr, IntPtr, IntPtr>)baseLib("ggml_sqrt");
        SumRows = (delegate* unmanaged<IntPtr, IntPtr, IntPtr>)baseLib("ggml_sum_rows");
        Cont = (delegate* unmanaged<IntPtr, IntPtr, IntPtr>)baseLib("ggml_cont");
        Scale = (delegate* unmanaged<IntPtr, IntPtr, float, IntPtr>)baseLib("ggml_scale");
        Clamp = (delegate* unmanaged<IntPtr, IntPtr, float, float, IntPtr>)baseLib("ggml_clamp");
        Fill = (delegate* unmanaged<IntPtr, IntPtr, float, IntPtr>)baseLib("ggml_fill");
        TopK = (delegate* unmanaged<IntPtr, IntPtr, int, IntPtr>)baseLib("ggml_top_k");
        GetRows = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)baseLib("ggml_get_rows");
        SetRows = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr>)baseLib("ggml_set_rows");
        SwigluSplit = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)baseLib("ggml_swiglu_split");
        Cpy = (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr>)baseLib("ggml_cpy");
        Reshape2d = (delegate* unmanaged<IntPtr, IntPtr, long, long, IntPtr>)baseLib("ggml_reshape_2d");
        Reshape3d = (delegate* unmanaged<IntPtr, IntPtr, long, long, long, IntPtr>)baseLib("ggml_reshape_3d");
        Reshape4d = (delegate* unmanaged<IntPtr, IntPtr, long, long, long, long, IntPtr>)baseLib("ggml_reshape_4d");
        View2d = (delegate* unmanaged<IntPtr, IntPtr, long, long, nuint, nuint, IntPtr>)baseLib("ggml_view_2d");
        NewGraphCustom = (delegate* unmanaged<IntPtr, nuint, byte, IntPtr>)baseLib("ggml_new_graph_custom");
        BuildForwardExpand = (delegate* unmanaged<IntPtr, IntPtr, void>)baseLib("ggml_build_forward_expand");
        AllocCtxTensors = (delegate* unmanaged<IntPtr, IntPtr, IntPtr>)baseLib("ggml_backend_alloc_ctx_tensors");
        BufferFree = (delegate* unmanaged<IntPtr, void>)baseLib("ggml_backend_buffer_free");
        TensorSet = (delegate* unmanaged<IntPtr, void*, nuint, nuint, void>)baseLib("ggml_backend_tensor_set");
        TensorGet = (delegate* unmanaged<IntPtr, void*, nuint, nuint, void>)baseLib("ggml_backend_tensor_get");
        GraphCompute = (delegate* unmanaged<IntPtr, IntPtr, int>)baseLib("ggml_backend_graph_compute");
        BackendFree = (delegate* unmanaged<IntPtr, void>)baseLib("ggml_backend_free");
        DefaultBufferType = (delegate* unmanaged<IntPtr, IntPtr>)baseLib("ggml_backend_get_default_buffer_type");
        GallocrNew = (delegate* unmanaged<IntPtr, IntPtr>)baseLib("ggml_gallocr_new");
        GallocrAllocGraph = (delegate* unmanaged<IntPtr, IntPtr, byte>)baseLib("ggml_gallocr_alloc_graph");
        GallocrFree = (delegate* unmanaged<IntPtr, void>)baseLib("ggml_gallocr_free");
        AllocCtxTensorsFromBuft = (delegate* unmanaged<IntPtr, IntPtr, IntPtr>)baseLib("ggml_backend_alloc_ctx_tensors_from_buft");
        BuftName = (delegate* unmanaged<IntPtr, IntPtr>)baseLib("ggml_backend_buft_name");
        RegDevGet = (delegate* unmanaged<IntPtr, nuint, IntPtr>)baseLib("ggml_backend_reg_dev_get");
        RegGetProcAddress = (delegate* unmanaged<IntPtr, byte*, IntPtr>)baseLib("ggml_backend_reg_get_proc_address");
        ThreadpoolParamsInit = (delegate* unmanaged<void*, int, void>)baseLib("ggml_threadpool_params_init");
        CpuInit = (delegate* unmanaged<IntPtr>)cpuLib("ggml_backend_cpu_init");
        CpuReg = (delegate* unmanaged<IntPtr>)cpuLib("ggml_backend_cpu_reg");
        CpuSetThreads = (delegate* unmanaged<IntPtr, int, void>)cpuLib("ggml_backend_cpu_set_n_threads");
        CpuSetThreadpool = (delegate* unmanaged<IntPtr, IntPtr, void>)cpuLib("ggml_backend_cpu_set_threadpool");
        ThreadpoolNew = (delegate* unmanaged<void*, IntPtr>)cpuLib("ggml_threadpool_new");
        ThreadpoolFree = (delegate* unmanaged<IntPtr, void>)cpuLib("ggml_threadpool_free");
    }

#pragma warning disable CS1591, SA1600 // one field per C function, named after it
    public readonly delegate* unmanaged<IntPtr> Version, Commit;
    public readonly delegate* unmanaged<GgmlInitParams, IntPtr> Init;
    public readonly delegate* unmanaged<IntPtr, void> Free, SetInput, SetOutput, BufferFree, BackendFree, GallocrFree, ThreadpoolFree;
    public readonly delegate* unmanaged<nuint> TensorOverhead;
    public readonly delegate* unmanaged<nuint, byte, nuint> GraphOverheadCustom;
    public readonly delegate* unmanaged<int, IntPtr> TypeName, GetTypeTraits;
    public readonly delegate* unmanaged<int, nuint> TypeSize;
    public readonly delegate* unmanaged<int, long> BlckSize;
    public readonly delegate* unmanaged<int, long, nuint> RowSize;
    public readonly delegate* unmanaged<IntPtr, nuint> Nbytes;
    public readonly delegate* unmanaged<IntPtr, long> Nelements;
    public readonly delegate* unmanaged<int, float*, void*, long, long, long, float*, nuint> QuantizeChunk;
    public readonly delegate* unmanaged<IntPtr, int, long, IntPtr> NewTensor1d;
    public readonly delegate* unmanaged<IntPtr, int, long, long, IntPtr> NewTensor2d;
    public readonly delegate* unmanaged<IntPtr, int, long, long, long, IntPtr> NewTensor3d;
    public readonly delegate* unmanaged<IntPtr, byte*, IntPtr> SetName;
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr> MulMat, Add, Mul, Div, GetRows, SwigluSplit, Cpy;
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, IntPtr> MulMatId, SetRows;
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr> Sigmoid, Softplus, Sqrt, SumRows, Cont;
    public readonly delegate* unmanaged<IntPtr, IntPtr, float, IntPtr> Scale, Fill;
    public readonly delegate* unmanaged<IntPtr, IntPtr, float, float, IntPtr> Clamp;
    public readonly delegate* unmanaged<IntPtr, IntPtr, int, IntPtr> TopK;
    public readonly delegate* unmanaged<IntPtr, IntPtr, long, long, IntPtr> Reshape2d;
    public readonly delegate* unmanaged<IntPtr, IntPtr, long, long, long, IntPtr> Reshape3d;
    public readonly delegate* unmanaged<IntPtr, IntPtr, long, long, long, long, IntPtr> Reshape4d;
    public readonly delegate* unmanaged<IntPtr, IntPtr, long, long, nuint, nuint, IntPtr> View2d;
    public readonly delegate* unmanaged<IntPtr, nuint, byte, IntPtr> NewGraphCustom;
    public readonly delegate* unmanaged<IntPtr, IntPtr, void> BuildForwardExpand, CpuSetThreadpool;
    public readonly delegate* unmanaged<IntPtr, IntPtr, IntPtr> AllocCtxTensors, AllocCtxTensorsFromBuft;
    public readonly delegate* unmanaged<IntPtr, nuint, IntPtr> RegDevGet;
    public readonly delegate* unmanaged<IntPtr, byte*, IntPtr> RegGetProcAddress;
    public readonly delegate* unmanaged<IntPtr, void*, nuint, nuint, void> TensorSet, TensorGet;
    public readonly delegate* unmanaged<IntPtr, IntPtr, int> GraphCompute;
    public readonly delegate* unmanaged<IntPtr, IntPtr> DefaultBufferType, GallocrNew, BuftName;
    public readonly delegate* unmanaged<IntPtr, IntPtr, byte> GallocrAllocGraph;
    public readonly delegate* unmanaged<void*, int, void> ThreadpoolParamsInit;
    public readonly delegate* unmanaged<IntPtr> CpuInit, CpuReg;
    public readonly delegate* unmanaged<IntPtr, int, void> CpuSetThreads;
    public readonly delegate* unmanaged<void*, IntPtr> ThreadpoolNew;
#pragma warning restore CS1591, SA1600
}
