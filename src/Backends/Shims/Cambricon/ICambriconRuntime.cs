using Accel.Graph;
using Accel.Types;

namespace Accel.Backends.Shims.Cambricon;

/// <summary>CNRT task types (<c>cnrtFunctionType_t</c>): one core per task, or unions of N clusters.</summary>
public enum CnrtFunctionType
{
    /// <summary>One MLU core per task, no SRAM sharing (<c>CNRT_FUNC_TYPE_BLOCK</c>).</summary>
    Block = 1,
    /// <summary>One cluster per task (<c>CNRT_FUNC_TYPE_UNION1</c>).</summary>
    Union1 = 4,
    /// <summary>Two clusters (<c>CNRT_FUNC_TYPE_UNION2</c>).</summary>
    Union2 = 8,
    /// <summary>Four clusters (<c>CNRT_FUNC_TYPE_UNION4</c>).</summary>
    Union4 = 16,
    /// <summary>Eight clusters (<c>CNRT_FUNC_TYPE_UNION8</c>).</summary>
    Union8 = 32,
    /// <summary>Sixteen clusters (<c>CNRT_FUNC_TYPE_UNION16</c>).</summary>
    Union16 = 64,
}

/// <summary>A launch dimension (<c>cnrtDim3_t</c>).</summary>
/// <param name="X">Tasks along x.</param>
/// <param name="Y">Tasks along y.</param>
/// <param name="Z">Tasks along z.</param>
public readonly record struct CnrtDim3(int X, int Y = 1, int Z = 1)
{
    /// <summary>Total tasks.</summary>
    public long Tasks => (long)X * Y * Z;
}

/// <summary>A CNRT queue (<c>cnrtQueueCreate</c>); work on it runs in order.</summary>
/// <param name="Id">Queue number.</param>
public sealed record CnrtQueue(int Id);

/// <summary>A kernel invocation: the op node and its device memory (the arguments of a BANG kernel).</summary>
/// <param name="Node">The op node.</param>
/// <param name="Inputs">Input memory (null for absent optional inputs).</param>
/// <param name="Outputs">Output memory.</param>
public sealed record CnrtKernel(OpNode Node, IReadOnlyList<DeviceMemory?> Inputs, IReadOnlyList<DeviceMemory> Outputs);

/// <summary>
/// The CNRT calls the Cambricon shim uses (cnrtQueueCreate, cnrtMalloc, cnrtMemcpy, a kernel
/// invocation with a task type and dimension, cnrtQueueSync). <see cref="CnrtRuntime"/> emulates it
/// on an Accel execution target; a native binding would P/Invoke libcnrt behind the same interface.
/// </summary>
public interface ICambriconRuntime : IShimRuntime
{
    /// <summary>Clusters of the device (the bound of UNIONn).</summary>
    int Clusters { get; }

    /// <summary>MLU cores per cluster.</summary>
    int CoresPerCluster { get; }

    /// <summary>The queue the shim's own work uses.</summary>
    CnrtQueue DefaultQueue { get; }

    /// <summary>Creates a queue (<c>cnrtQueueCreate</c>).</summary>
    CnrtQueue CreateQueue();

    /// <summary>Allocates GDRAM for <paramref name="desc"/> (<c>cnrtMalloc</c>), in 64-B granules.</summary>
    DeviceMemory Malloc(long size, TensorDesc desc);

    /// <summary><c>cnrtMemcpy</c> host to device.</summary>
    void Memcpy(DeviceMemory destination, ReadOnlySpan<byte> source, MemcpyKind kind);

    /// <summary><c>cnrtMemcpy</c> device to host.</summary>
    void Memcpy(Span<byte> destination, DeviceMemory source, MemcpyKind kind);

    /// <summary>Checks a task type and dimension against the clusters (what the driver refuses).</summary>
    void ValidateTask(CnrtDim3 dim, CnrtFunctionType type);

    /// <summary>
    /// Invokes <paramref name="kernel"/> with <paramref name="dim"/> tasks of <paramref name="type"/>
    /// on <paramref name="queue"/>.
    /// </summary>
    void InvokeKernel(CnrtKernel kernel, CnrtDim3 dim, CnrtFunctionType type, CnrtQueue queue);

    /// <summary>Waits for <paramref name="queue"/> (<c>cnrtQueueSync</c>).</summary>
    void QueueSync(CnrtQueue queue);
}
