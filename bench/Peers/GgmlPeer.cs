using Accel.Moe;
using Accel.Types;
using N = Accel.Moe.MoeWeightNames;

namespace Accel.Peers;

/// <summary>
/// The layer in ggml's CPU backend: weights in one backend buffer (ggml_init with no_alloc, then
/// ggml_backend_alloc_ctx_tensors and ggml_backend_tensor_set), one graph per token count built on
/// first use and reused (its intermediates placed by a graph allocator), computed with
/// ggml_backend_graph_compute on a persistent thread pool of <c>threads</c> threads.
/// </summary>
internal sealed unsafe class GgmlPeer : IDisposable
{
    private static readonly Lazy<GgmlLibrary> Shared = new(() => GgmlLibrary.Load(GgmlLibrary.Locate()));

    private readonly GgmlApi _g;
    private readonly MoeConfig _c;
    private readonly IntPtr _backend, _threadpool, _weightsCtx, _weightsBuffer;
    private readonly GgmlMoeWeights _w;
    private readonly Dictionary<int, (IntPtr Ctx, IntPtr Graph, IntPtr Alloc, IntPtr X, IntPtr Out)> _graphs = [];

    public GgmlPeer(MoeConfig c, IReadOnlyDictionary<string, HostTensor> w, int threads, GgmlFormat format)
    {
        Library = Shared.Value;
        _g = Library.Api;
        _c = c;
        Format = format;
        _backend = _g.CpuInit();
        if (_backend == IntPtr.Zero)
        {
            throw new InvalidOperationException("ggml_backend_cpu_init returned no backend.");
        }

        _g.CpuSetThreads(_backend, threads);
        var p = stackalloc byte[GgmlLayout.ThreadpoolParamsBytes];
        _g.ThreadpoolParamsInit(p, threads);
        *(uint*)(p + GgmlLayout.ThreadpoolPollOffset) = 0; // workers sleep between graphs instead of spinning beside the other engines
        _threadpool = _g.ThreadpoolNew(p);
        _g.CpuSetThreadpool(_backend, _threadpool);

        _weightsCtx = _g.Init(new GgmlInitParams { MemSize = 16 * _g.TensorOverhead(), NoAlloc = 1 });
        IntPtr New(string name, HostTensor t, int type)
        {
            var s = t.Shape;
            var tensor = s.Rank == 3
                ? _g.NewTensor3d(_weightsCtx, type, s[2], s[1], s[0])
                : s.Rank == 2 ? _g.NewTensor2d(_weightsCtx, type, s[1], s[0]) : _g.NewTensor1d(_weightsCtx, type, s[0]);
            var bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
            fixed (byte* n = bytes) { _g.SetName(tensor, n); }
            return tensor;
        }

        int TypeOf(string name) => GgmlWeights.TypeFor(Format, w[name].Type);
        var types = new Dictionary<string, int>();
        foreach (string proj in N.Projections)
        {
            types[N.Experts(proj)] = TypeOf(N.Experts(proj));
            if (c.SharedWidth > 0) { types[N.Shared(proj)] = TypeOf(N.Shared(proj)); }
        }

        var tensors = types.ToDictionary(kv => kv.Key, kv => New(kv.Key, w[kv.Key], kv.Value));
        var router = New(N.Router, w[N.Router], GgmlType.F32);
        var bias = w.ContainsKey(N.RouterBias) ? New(N.RouterBias, w[N.RouterBias], GgmlType.F32) : IntPtr.Zero;
        _weightsBuffer = _g.AllocCtxTensors(_weightsCtx, _backend);
        if (_weightsBuffer == IntPtr.Zero)
        {
            throw new InvalidOperationException("ggml could not allocate the weight buffer.");
        }

        GgmlWeights.UploadF32(_g, router, w[N.Router].ToF32());
        if (bias != IntPtr.Zero) { GgmlWeights.UploadF32(_g, bias, w[N.RouterBias].ToF32()); }
        foreach (var (name, tensor) in tensors)
        {
            var scaleName = name.Replace(".weight", ".scale", StringComparison.Ordinal);
            GgmlWeights.Upload(_g, tensor, types[name], w[name], w.GetValueOrDefault(scaleName));
            if (types[name] == GgmlType.MXFP4)
            {
                var s = w[name].Shape;
                // Every expert's first and last row and one more in between, every block of each.
                var rows = Enumerable.Range(0, (int)s[0]).SelectMany(x => new[] { ((long)x, 0L), (x, s[1] - 1), (x, x * 7919L % s[1]) });
                MxfpChecked += Mxfp4.Check(_g, tensor, w[name], w[scaleName], rows);
            }
        }

        _w = new GgmlMoeWeights(router, bias, tensors[N.Experts("gate")], tensors[N.Experts("up")], tensors[N.Experts("down")],
            tensors.GetValueOrDefault(N.Shared("gate")), tensors.GetValueOrDefault(N.Shared("up")), tensors.GetValueOrDefault(N.Shared("down")));
        Note = $"{Library.Describe()}; routed {Name(types[N.Experts("gate")])}" +
            (c.SharedWidth > 0 ? $", shared {Name(types[N.Shared("gate")])}" : "") +
            (MxfpChecked > 0 ? $"; MXFP4 conversion checked exact on {MxfpChecked} values through ggml's to_float" : "");
    }

    /// <summary>Loads the libraries once per process (the first call's failure is the answer for all).</summary>
    public static GgmlLibrary LoadLibrary() => Shared.Value;

    /// <summary>The loaded libraries.</summary>
    public GgmlLibrary Library { get; }

    /// <summary>The storage format.</summary>
    public GgmlFormat Format { get; }

    /// <summary>Values of the MXFP4 conversion compared with Accel's decoder (0 for other formats).</summary>
    public long MxfpChecked { get; }

    /// <summary>What ran: version, cpu variant, weight types, the exactness check.</summary>
    public string Note { get; }

    /// <summary>Runs the layer on activations [T, D].</summary>
    public float[] Run(float[] x, int tokens)
    {
        if (!_graphs.TryGetValue(tokens, out var graph))
        {
            graph = _graphs[tokens] = Build(tokens);
        }

        GgmlWeights.UploadF32(_g, graph.X, x);
        int status = _g.GraphCompute(_backend, graph.Graph);
        if (status != 0)
        {
            throw new InvalidOperationException($"ggml_backend_graph_compute returned status {status}.");
        }

        var result = new float[tokens * _c.Hidden];
        fixed (float* dst = result)
        {
            _g.TensorGet(graph.Out, dst, 0, (nuint)(result.Length * 4));
        }

        return result;
    }

    private (IntPtr, IntPtr, IntPtr, IntPtr, IntPtr) Build(int tokens)
    {
        const int maxNodes = 256;
        var ctx = _g.Init(new GgmlInitParams { MemSize = maxNodes * _g.TensorOverhead() + _g.GraphOverheadCustom(maxNodes, 0), NoAlloc = 1 });
        var x = _g.NewTensor2d(ctx, GgmlType.F32, _c.Hidden, tokens);
        _g.SetInput(x);
        var output = new GgmlMoeGraph(_g, ctx, _c, _w).Build(x, tokens);
        _g.SetOutput(output);
        var graph = _g.NewGraphCustom(ctx, maxNodes, 0);
        _g.BuildForwardExpand(graph, output);
        var alloc = _g.GallocrNew(_g.DefaultBufferType(_backend));
        if (_g.GallocrAllocGraph(alloc, graph) == 0)
        {
            throw new InvalidOperationException($"ggml could not allocate the graph for {tokens} tokens.");
        }

        return (ctx, graph, alloc, x, output);
    }

    private string Name(int type) => System.Runtime.InteropServices.Marshal.PtrToStringUTF8(_g.TypeName(type)) ?? type.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        foreach (var (ctx, _, alloc, _, _) in _graphs.Values)
        {
            _g.GallocrFree(alloc);
            _g.Free(ctx);
        }

        _graphs.Clear();
        _g.BufferFree(_weightsBuffer);
        _g.Free(_weightsCtx);
        _g.BackendFree(_backend);
        _g.ThreadpoolFree(_threadpool);
    }
}
