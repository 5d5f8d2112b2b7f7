using System.Runtime.InteropServices;
using Accel.Backends.Cpu.Kernels;
using Accel.Graph;
using Accel.Types;

namespace Accel.Backends.Cpu;

/// <summary>
/// The CPU backend: every op in plain C# over 64-byte aligned host buffers. The expert GEMMs run
/// AVX-512 micro-kernels (weights dequantised in registers from their stored format, one pass over
/// each touched expert's weights) on a pool sized to the machine; a portable
/// <see cref="System.Numerics.Vector{T}"/> path runs everywhere else. Steady-state runs allocate
/// nothing: jobs, tiles and scratch memory are kept by the backend and only grow.
/// </summary>
public sealed unsafe partial class CpuBackend : BackendBase
{
    private readonly WorkerPool _pool;

    /// <summary>
    /// Serialises transfers and ops: the jobs, scratch memory, deferred products and weight
    /// layouts are shared by every session on this backend.
    /// </summary>
    private readonly object _gate = new();
    private readonly GemmJob _gemm = new();
    private readonly RangeJob _range = new();
    private readonly bool _portable;
    private readonly bool _quads;
    private NativeScratch _scratch;

    /// <summary>Opens the backend with <paramref name="options"/> (null for defaults).</summary>
    public CpuBackend(CpuBackendOptions? options = null) : base(CpuProvider.Describe(options ?? new CpuBackendOptions()), memoryLimitBytes: null)
    {
        Options = options ?? new CpuBackendOptions();
        _gemm.Fp4Terms = Options.Fp4Terms; // first: refuses bad activation bits before any worker thread starts
        _pool = new WorkerPool(Options.EffectiveThreads, Options.IdleNapMilliseconds, Options.AvoidCaller);
        _portable = !Options.UsesAvx512;
        _gemm.AmxEnabled = Options.UsesAmx;
        _gemm.AmxMinRows = Options.AmxMinRows;
        _gemm.Fp4PanelMinRows = Options.Fp4PanelRows > 0 ? Options.Fp4PanelRows : int.MaxValue;
        _gemm.AmxFp32 = Options.AmxFp32;
        _gemm.PanelPrefetch = Options.PanelPrefetchBytes;
        _gemm.StreamRowsAbove = Options.StreamRowsAbove;
        _gemm.PrefetchBlocks = Options.PrefetchBlocks;
        _gemm.SplitPanels = Options.SplitPanels;
        _gemm.Fp4TwoGroups = Options.Fp4TwoGroups;
        _gemm.Vnni = Options.UsesVnni;
        _gemm.Vnni512 = Options.UsesVnni512;
        _gemm.Bf16Dot = Options.UsesBf16Dot;
        _quads = Options.UsesFp4Quads;
    }

    /// <summary>The options in effect.</summary>
    public CpuBackendOptions Options { get; }

    /// <summary>Threads that run each op, the caller included.</summary>
    public int Threads => _pool.Threads;

    /// <summary>Which kernels run: <c>avx512+amx</c>, <c>avx512</c> or <c>portable</c>.</summary>
    public string KernelFamily => _portable ? "portable" : _gemm.AmxEnabled ? "avx512+amx" : "avx512";

    /// <inheritdoc/>
    public override OpTable Ops => Table;

    /// <summary>The ops of <see cref="ExecuteLocked"/>, each for every dtype its signature allows.</summary>
    private static OpTable Table { get; } = OpTable.For(CpuProvider.DeviceId).With(OpSchemas.MoeSpecOps);

    /// <inheritdoc/>
    protected override void PrepareCore(Graph.Graph graph, IReadOnlyList<OpNode> nodes)
    {
        lock (_gate)
        {
            NoteFusion(graph, nodes);
        }
    }

    /// <inheritdoc/>
    protected override IDeviceBuffer AllocateCore(TensorDesc desc) => new CpuBuffer(this, desc);

    /// <inheritdoc/>
    protected override void UploadCore(IDeviceBuffer destination, ReadOnlySpan<byte> source)
    {
        var b = (CpuBuffer)destination;
        lock (_gate)
        {
            FlushFor(b, written: true);
            source.CopyTo(b.Bytes);
            b.ForgetLayout();
            b.Version++;
        }
    }

    /// <inheritdoc/>
    protected override void DownloadCore(IDeviceBuffer source, Span<byte> destination)
    {
        var b = (CpuBuffer)source;
        lock (_gate)
        {
            FlushFor(b, written: false);
            CopyOut(b, destination);
        }
    }

    /// <inheritdoc/>
    protected override void ExecuteCore(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        lock (_gate)
        {
            ExecuteLocked(node, inputs, outputs);
        }
    }

    private void ExecuteLocked(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        CpuBuffer In(int i) => (CpuBuffer)inputs[i]!;
        CpuBuffer? Opt(int i) => (CpuBuffer?)inputs[i];
        var o = (CpuBuffer)outputs[0];
        PrepareLayouts(node, inputs, outputs);
        if (TryRunFused(node, inputs, o))
        {
            return;
        }

        FlushFor(inputs, outputs);
        if (TryDefer(node, inputs, o))
        {
            return;
        }

        switch (node.Kind)
        {
            case OpKind.RmsNorm: RmsNorm(In(0), In(1), o, ((RmsNormAttributes)node.Attributes).Epsilon); break;
            case OpKind.RouterGemm: Dense(In(0), Matrix(In(1), null), o); break;
            case OpKind.RouterScore: RouterScore(In(0), o, ((RouterScoreAttributes)node.Attributes).Function); break;
            case OpKind.SelectionBias: SelectionBias(In(0), In(1), o); break;
            case OpKind.GroupLimitMask: GroupLimitMask(In(0), o, (GroupLimitAttributes)node.Attributes); break;
            case OpKind.TopK: TopK(In(0), o, ((TopKAttributes)node.Attributes).K); break;
            case OpKind.HashRoute: HashRoute(node, In(0), In(1), o, ((HashRouteAttributes)node.Attributes).Experts); break;
            case OpKind.RouteWeights: RouteWeights(node, In(0), In(1), o, (RouteWeightsAttributes)node.Attributes); break;
            case OpKind.ExpertHistogram: ExpertHistogram(node, In(0), o); break;
            case OpKind.ExclusiveScan: ExclusiveScan(node, In(0), o, ((SegmentAttributes)node.Attributes).Alignment); break;
            case OpKind.BuildPermutation:
                BuildPermutation(node, In(0), In(1), o, (CpuBuffer)outputs[1], (CpuBuffer)outputs[2]);
                break;
            case OpKind.Permute: Permute(In(0), In(1), o); break;
            case OpKind.GroupedGemm: GroupedGemm(In(0), Matrix(In(1), Opt(2)), In(3), o); break;
            case OpKind.SwiGlu:
                SwiGlu(In(0), In(1), Opt(2), Opt(3), Opt(4), o, ((SwiGluAttributes)node.Attributes).Limit);
                break;
            case OpKind.Unpermute: Unpermute(In(0), In(1), Opt(2), o); break;
            case OpKind.SharedExpert:
                SharedExpert(In(0), Matrix(In(1), Opt(2)), Matrix(In(3), Opt(4)), Matrix(In(5), Opt(6)),
                    Opt(7), o, ((SwiGluAttributes)node.Attributes).Limit);
                break;
            case OpKind.Add: Add(In(0), In(1), o); break;
            case OpKind.DequantFp8Block or OpKind.DequantFp4:
                // Dequantising only decodes rows: a weight is not rewritten into panels for it.
                Dequantize(Matrix(In(0), Opt(1), pack: false), o);
                break;
            case OpKind.ActQuantFp8:
                ActQuantFp8(In(0), o, (CpuBuffer)outputs[1], ((ActQuantAttributes)node.Attributes).PowerOfTwoScales);
                break;
            default:
                throw new NotSupportedException($"The CPU backend has no implementation of {node.Kind}.");
        }
    }

    /// <summary>Returns a disposed buffer's bytes to the budget.</summary>
    internal void Release(CpuBuffer buffer)
    {
        lock (_gate)
        {
            Forget(buffer);
        }

        OnBufferReleased(buffer);
    }

    /// <summary>
    /// Nothing to wait for: every op has run when Execute returns, except products held back for
    /// fusion, and those run as soon as anything reads their result (a download, a node). Running
    /// them here would make another session's fusion depend on this caller's timing.
    /// </summary>
    protected override void SynchronizeCore() { }

    /// <summary>Whether a weight holds codes the fast decoders do not reproduce (checked once per upload).</summary>
    private static bool NeedsExact(CpuBuffer w, WeightFormat format)
    {
        if (format is not (WeightFormat.F16 or WeightFormat.Fp8F32Scale or WeightFormat.Fp8E8Scale))
        {
            return false;
        }

        var facts = w.Facts;
        if (facts is null || facts.Version != w.Version)
        {
            facts = new WeightFacts(w.Version, format == WeightFormat.F16 ? HasF16Specials(w) : HasFp8NaN(w));
            w.Facts = facts;
        }

        return facts.HasSpecialCodes;
    }

    /// <summary>Whether a weight's scales allow the fast decoders (<see cref="WeightMatrix.FastScales"/>; checked once per upload).</summary>
    private static bool ScalesAllowFastDecoders(CpuBuffer? scale, WeightFormat format)
    {
        if (scale is null || format is not (WeightFormat.Fp8F32Scale or WeightFormat.Fp8E8Scale or WeightFormat.Fp4))
        {
            return false;
        }

        var facts = scale.Facts;
        if (facts is null || facts.Version != scale.Version)
        {
            facts = new WeightFacts(scale.Version, HasSpecialCodes: false, HasSlowScales: HasSlowScales(scale.Bytes, format));
            scale.Facts = facts;
        }

        return !facts.HasSlowScales;
    }

    /// <summary>
    /// Whether some scale keeps the fast decoders off: an fp8 block scale below 2^-20 (UE8M0: code
    /// below 107) or not finite; an FP4 scale code 0 (2^-127, not a normal float) or 255 (NaN).
    /// </summary>
    internal static bool HasSlowScales(ReadOnlySpan<byte> scales, WeightFormat format)
    {
        if (format == WeightFormat.Fp4)
        {
            return scales.IndexOf((byte)0) >= 0 || scales.IndexOf((byte)255) >= 0;
        }

        if (format == WeightFormat.Fp8E8Scale)
        {
            return scales.IndexOfAnyInRange((byte)0, (byte)106) >= 0 || scales.IndexOf((byte)255) >= 0;
        }

        foreach (float v in MemoryMarshal.Cast<byte, float>(scales))
        {
            if (!(Math.Abs(v) >= 9.5367431640625e-7f) || !float.IsFinite(v))
            {
                return true;
            }
        }

        return false;
    }

    private static bool HasFp8NaN(CpuBuffer w)
    {
        // e4m3fn NaN is S.1111.111: 0x7F or 0xFF.
        var bytes = w.Bytes;
        return bytes.IndexOf((byte)0x7F) >= 0 || bytes.IndexOf((byte)0xFF) >= 0;
    }

    private static bool HasF16Specials(CpuBuffer w)
    {
        foreach (ushort h in MemoryMarshal.Cast<byte, ushort>(w.Bytes))
        {
            if ((h & 0x7C00) == 0x7C00)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Scratch memory of at least <paramref name="bytes"/>, reused by later calls (grows only).</summary>
    private byte* Scratch(long bytes) => _scratch.Ensure(bytes);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        _deferred.Clear();
        _pool.Dispose();
        _gemm.Rows.Free();
        _gemm.FreeAmx();
        _scratch.Free();
    }
}
