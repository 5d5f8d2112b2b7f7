using Accel.Moe;
using Accel.Types;
using N = Accel.Moe.MoeWeightNames;

namespace Accel.Peers;

/// <summary>
/// The layer in ggml's CPU backend: weights in backend buffers (<see cref="GgmlWeightStore"/>:
/// ggml_init with no_alloc, ggml_backend_alloc_ctx_tensors, ggml_backend_tensor_set; quantised
/// weights repacked where ggml repacks them), one graph per token count built on
/// first use and reused (its intermediates placed by a graph allocator), computed with
/// ggml_backend_graph_compute on a persistent thread pool of <c>threads</c> threads (polling level
/// <c>poll</c>, 0..100: how long its workers spin for the next graph before they sleep). With
/// <see cref="GgmlSettings.Apart"/> the pool's workers are found as the threads that
/// ggml_threadpool_new started, and before each graph they are kept off the caller's processor
/// exactly as Accel's cpu backend keeps its workers (the same code).
/// </summary>
internal sealed unsafe class GgmlPeer : IDisposable
{
    private static readonly Lazy<GgmlLibrary> Shared = new(() => GgmlLibrary.Load(GgmlLibrary.Locate()));

    private readonly GgmlApi _g;
    private readonly MoeConfig _c;
    private readonly IntPtr _backend, _threadpool;
    private readonly GgmlWeightStore _store;
    private readonly GgmlMoeWeights _w;
    private readonly OutputBuffers _outputs;
    private readonly Accel.Backends.Cpu.CallerPlacement? _placement;
    private readonly Dictionary<int, (IntPtr Ctx, IntPtr Graph, IntPtr Alloc, IntPtr X, IntPtr Out)> _graphs = [];

    public GgmlPeer(MoeConfig c, IReadOnlyDictionary<string, HostTensor> w, GgmlSettings settings, GgmlFormat format)
    {
        int threads = settings.Threads;
        Library = Shared.Value;
        _g = Library.Api;
        _c = c;
        _outputs = new OutputBuffers(c.Hidden);
        Format = format;
        _backend = _g.CpuInit();
        if (_backend == IntPtr.Zero)
        {
            throw new InvalidOperationException("ggml_backend_cpu_init returned no backend.");
        }

        _g.CpuSetThreads(_backend, threads);
        var p = stackalloc byte[GgmlLayout.ThreadpoolParamsBytes];
        _g.ThreadpoolParamsInit(p, threads);
        *(uint*)(p + GgmlLayout.ThreadpoolPollOffset) = (uint)settings.Poll; // 0: workers sleep between graphs instead of spinning beside the other engines
        var before = ThreadIds();
        _threadpool = _g.ThreadpoolNew(p);
        (_placement, string placed) = settings.Apart ? Place(ThreadIds().Except(before).ToArray(), threads - 1) : (null, "workers placed by the kernel");
        _g.CpuSetThreadpool(_backend, _threadpool);

        _store = new GgmlWeightStore(_g, _backend, settings.Repack);
        static long[] Ne(HostTensor t) => [.. t.Shape.Reverse()];
        var router = _store.Add(N.Router, GgmlType.F32, Ne(w[N.Router]), GgmlWeights.Bytes(w[N.Router].ToF32()).ToArray());
        var bias = w.TryGetValue(N.RouterBias, out var b)
            ? _store.Add(N.RouterBias, GgmlType.F32, Ne(b), GgmlWeights.Bytes(b.ToF32()).ToArray())
            : IntPtr.Zero;
        var tensors = new Dictionary<string, IntPtr>();
        var types = new Dictionary<string, int>();
        var names = N.Projections.Select(N.Experts).Concat(c.SharedWidth > 0 ? N.Projections.Select(N.Shared) : []);
        foreach (string name in names)
        {
            var scale = w.GetValueOrDefault(name.Replace(".weight", ".scale", StringComparison.Ordinal));
            int type = types[name] = GgmlWeights.TypeFor(Format, w[name].Type);
            var data = GgmlWeights.Convert(_g, type, w[name], scale);
            if (type == GgmlType.MXFP4)
            {
                // Every expert's first and last row and one more in between, every block of each.
                var s = w[name].Shape;
                var rows = Enumerable.Range(0, (int)s[0]).SelectMany(x => new[] { ((long)x, 0L), (x, s[1] - 1), (x, x * 7919L % s[1]) });
                MxfpChecked += Mxfp4.Check(_g, data, w[name], scale!, rows);
            }

            tensors[name] = _store.Add(name, type, Ne(w[name]), data);
        }

        _w = new GgmlMoeWeights(router, bias, tensors[N.Experts("gate")], tensors[N.Experts("up")], tensors[N.Experts("down")],
            tensors.GetValueOrDefault(N.Shared("gate")), tensors.GetValueOrDefault(N.Shared("up")), tensors.GetValueOrDefault(N.Shared("down")));
        string repacked = _store.Repacked.Count > 0 ? $"repacked (CPU_REPACK): {string.Join(", ", _store.Repacked)}"
            : _store.HasRepack ? "no weight repacked" : "repacking off";
        Note = $"{Library.Describe()}; routed {Name(types[N.Experts("gate")])}" +
            (c.SharedWidth > 0 ? $", shared {Name(types[N.Shared("gate")])}" : "") + $"; {repacked}; {placed}" +
            (MxfpChecked > 0 ? $"; MXFP4 conversion checked exact on {MxfpChecked} values through ggml's to_float" : "");
    }

    /// <summary>A placement that keeps the pool's workers (the threads ggml_threadpool_new started) off the caller's processor, or null; and what was done.</summary>
    private static (Accel.Backends.Cpu.CallerPlacement? Placement, string Note) Place(int[] started, int workers)
    {
        if (started.Length != workers)
        {
            return (null, $"workers placed by the kernel ({started.Length} new threads found for {workers} workers)");
        }

        var placement = Accel.Backends.Cpu.CallerPlacement.Create(workers);
        if (placement is null)
        {
            return (null, "workers placed by the kernel (no affinity calls, or too few processors)");
        }

        for (int i = 0; i < workers; i++)
        {
            placement.Register(i + 1, started[i]);
        }

        return (placement, "workers kept off the caller's processor");
    }

    /// <summary>The ids of this process's threads, less the runtime's own (named .NET ...); empty where /proc is absent.</summary>
    private static HashSet<int> ThreadIds()
    {
        var ids = new HashSet<int>();
        if (!Directory.Exists("/proc/self/task"))
        {
            return ids;
        }

        foreach (var dir in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                if (int.TryParse(Path.GetFileName(dir), out int id) && !File.ReadAllText(Path.Combine(dir, "comm")).StartsWith(".NET", StringComparison.Ordinal))
                {
                    ids.Add(id);
                }
            }
            catch (IOException)
            {
                // The thread ended while it was listed.
            }
        }

        return ids;
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
        _placement?.Apply();
        int status = _g.GraphCompute(_backend, graph.Graph);
        if (status != 0)
        {
            throw new InvalidOperationException($"ggml_backend_graph_compute returned status {status}.");
        }

        var result = _outputs.For(tokens);
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
        _store.Dispose();
        _g.BackendFree(_backend);
        _g.ThreadpoolFree(_threadpool);
    }
}
