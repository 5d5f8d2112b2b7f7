using System.Reflection;
using System.Runtime.InteropServices;
using Accel.Errors;
using Accel.Graph;
using Accel.Kernels;
using Accel.Types;

namespace Accel.Backends.KernelDispatch;

/// <summary>
/// The device-independent half of the kernel backends (ILGPU accelerators, OpenCL): decides, per op
/// node, which kernel methods of Accel.Kernels to launch with which grid, group and arguments, and
/// hands each launch to an <see cref="IKernelEngine"/>. It also owns the scratch buffers and the
/// kernels' status word (invalid ids reported by HashRoute, RouteWeights, the histogram, the
/// permutation, Permute and Unpermute), read back only at <see cref="CheckStatus"/>.
/// Not thread-safe: the backend serialises calls.
/// </summary>
public sealed partial class KernelDispatcher : IDisposable
{
    /// <summary>Ids handled by one thread of the permutation's count and place passes.</summary>
    public const int PermutationChunk = 256;

    private readonly IKernelEngine _engine;
    private readonly string _backend;
    private readonly IDeviceBuffer _status;
    private readonly List<OpNode> _checkedNodes = [];
    private readonly Dictionary<string, IDeviceBuffer> _scratch = [];
    private string _op = "";

    /// <summary>Creates the dispatcher over <paramref name="engine"/>.</summary>
    /// <param name="engine">The launch engine.</param>
    /// <param name="backend">The provider name used in errors (<c>ilgpu</c>, <c>opencl</c>).</param>
    /// <param name="gemmTile">The GEMM tile override (M, N, K), or null for the best that fits.</param>
    /// <param name="rowGroupSize">The row-group override, or null for the best that fits.</param>
    public KernelDispatcher(IKernelEngine engine, string backend, (int M, int N, int K)? gemmTile, int? rowGroupSize)
    {
        _engine = engine;
        _backend = backend;
        var limits = engine.Limits;
        GemmTile = gemmTile is { } t
            ? Specialisations.FindTile(t.M, t.N, t.K) ?? throw new ArgumentException(
                $"No GEMM tile {t.M}x{t.N}x{t.K} is shipped; choose one of {string.Join(", ", Specialisations.Tiles)}.")
            : Specialisations.BestTile(limits.MaxThreadsPerGroup, (int)Math.Min(int.MaxValue, limits.MaxSharedMemoryPerGroup));
        RowGroup = rowGroupSize is int g
            ? Specialisations.FindRowGroup(g) ?? throw new ArgumentException(
                $"No row group of {g} threads is shipped; choose one of {string.Join(", ", Specialisations.RowGroups)}.")
            : Specialisations.BestRowGroup(limits.MaxThreadsPerGroup);
        ElementGroup = Math.Min(256, limits.MaxThreadsPerGroup);
        MaxElementGroups = Math.Max(1, limits.MaxElementGroups);
        _status = engine.AllocateStatus(KernelStatus.Length);
        ClearStatus();
    }

    /// <summary>The GEMM tile every GEMM launch uses.</summary>
    public GemmTileSpec GemmTile { get; }

    /// <summary>The row-group size of the per-token reductions.</summary>
    public RowGroupSpec RowGroup { get; }

    /// <summary>Threads per group of the elementwise kernels.</summary>
    public int ElementGroup { get; }

    /// <summary>Most groups an elementwise (grid-stride) launch uses.</summary>
    public int MaxElementGroups { get; }

    /// <summary>Launches the kernels of one node (nothing is waited for).</summary>
    public void Execute(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        var i = inputs.ToArray();
        var o = outputs.ToArray();
        IDeviceBuffer In(int n) => i[n]!;
        _op = $"{node.Name} ({node.Kind})";
        switch (node.Kind)
        {
            case OpKind.RmsNorm: RmsNorm(node, In(0), In(1), o[0]); break;
            case OpKind.RouterGemm: RouterGemm(In(0), In(1), o[0]); break;
            case OpKind.RouterScore: RouterScore(node, In(0), o[0]); break;
            case OpKind.SelectionBias: SelectionBias(node, In(0), In(1), o[0]); break;
            case OpKind.GroupLimitMask: GroupLimitMask(node, In(0), o[0]); break;
            case OpKind.TopK: TopK(node, In(0), o[0]); break;
            case OpKind.HashRoute: HashRoute(node, In(0), In(1), o[0]); break;
            case OpKind.RouteWeights: RouteWeights(node, In(0), In(1), o[0]); break;
            case OpKind.ExpertHistogram: ExpertHistogram(node, In(0), o[0]); break;
            case OpKind.ExclusiveScan: ExclusiveScan(node, In(0), o[0]); break;
            case OpKind.BuildPermutation: BuildPermutation(node, In(0), In(1), o[0], o[1], o[2]); break;
            case OpKind.Permute: Permute(node, In(0), In(1), o[0]); break;
            case OpKind.GroupedGemm: GroupedGemm(In(0), In(1), i[2], In(3), o[0]); break;
            case OpKind.SwiGlu: SwiGlu(node, In(0), In(1), i[2], i[3], i[4], o[0]); break;
            case OpKind.Unpermute: Unpermute(node, In(0), In(1), i[2], o[0]); break;
            case OpKind.SharedExpert: SharedExpert(node, i, o[0]); break;
            case OpKind.Add: Add(node, In(0), In(1), o[0]); break;
            case OpKind.DequantFp8Block or OpKind.DequantFp4: Dequantize(In(0), In(1), o[0]); break;
            case OpKind.ActQuantFp8: ActQuantFp8(node, In(0), o[0], o[1]); break;
            default: throw new NotSupportedException($"op {node.Kind} has no kernel.");
        }
    }

    /// <summary>Reads the status word if a validating kernel ran since the last check; throws what it reports.</summary>
    public void CheckStatus()
    {
        if (_checkedNodes.Count == 0)
        {
            return;
        }

        var status = new int[KernelStatus.Length];
        _engine.Read(_status, MemoryMarshal.AsBytes(status.AsSpan()));
        var nodes = _checkedNodes.ToArray();
        _checkedNodes.Clear();
        if (status[0] == KernelStatus.Ok)
        {
            return;
        }

        ClearStatus();
        string node = status[3] >= 0 && status[3] < nodes.Length ? nodes[status[3]].Name : "(unknown)";
        throw new InvalidInputException($"Node '{node}': {Describe(status[0], status[1], status[2])}");
    }

    /// <summary>Frees the scratch buffers and the status buffer.</summary>
    public void Dispose()
    {
        foreach (var b in _scratch.Values)
        {
            b.Dispose();
        }

        _scratch.Clear();
        _status.Dispose();
    }

    private static string Describe(int code, int value, int position) => code switch
    {
        KernelStatus.TokenIdOutOfRange =>
            $"token id {value} at position {position} is outside the hash table; check the token ids against the checkpoint's vocabulary.",
        KernelStatus.TableEntryOutOfRange => $"tid2eid entry {position} is {value}, which is not an expert id.",
        KernelStatus.DuplicateExpert => $"tid2eid row {position} names expert {value} twice; each row needs distinct experts.",
        KernelStatus.ExpertOutOfRange => $"expert id {value} at position {position} is outside 0..E-1.",
        KernelStatus.RowOutOfRange => $"row index {value} at position {position} does not address a row of its buffer.",
        KernelStatus.SegmentOverflow =>
            $"expert {value} has more rows than its segment in 'offsets'; the offsets do not match the ids.",
        _ => $"a kernel reported error code {code}.",
    };

    private void ClearStatus() => _engine.Write(_status, new byte[_status.Desc.ByteSize]);

    /// <summary>The status view and the tag under which a validating kernel of <paramref name="node"/> reports.</summary>
    private (KernelOperand Status, int Tag) StatusFor(OpNode node)
    {
        _checkedNodes.Add(node);
        return (I32(_status), _checkedNodes.Count - 1);
    }

    private void Launch(MethodInfo kernel, LaunchShape shape, params ReadOnlySpan<KernelOperand> args) =>
        _engine.Launch(kernel, shape, args, _op);

    private static KernelOperand F32(IDeviceBuffer b) => KernelOperand.View(b, typeof(float));

    private static KernelOperand I32(IDeviceBuffer b) => KernelOperand.View(b, typeof(int));

    private static KernelOperand U16(IDeviceBuffer b) => KernelOperand.View(b, typeof(ushort));

    private static KernelOperand Bytes(IDeviceBuffer b) => KernelOperand.View(b, typeof(byte));

    /// <summary>An empty float view for absent optional inputs (never read by the kernels).</summary>
    private KernelOperand EmptyF32 => KernelOperand.View(_status, typeof(float), 0);

    /// <summary>An empty int view for absent optional inputs (never read by the kernels).</summary>
    private KernelOperand EmptyI32 => KernelOperand.View(_status, typeof(int), 0);

    /// <summary>An empty byte view for absent scales (never read by the kernels).</summary>
    private KernelOperand EmptyBytes => KernelOperand.View(_status, typeof(byte), 0);

    private static int Dim(IDeviceBuffer b, int axis) => checked((int)b.Desc.Shape[axis]);

    /// <summary>A grid-stride launch over <paramref name="count"/> elements.</summary>
    private LaunchShape Elementwise(long count) =>
        LaunchShape.Linear((int)Math.Min(CeilDiv(count, ElementGroup), MaxElementGroups), ElementGroup);

    /// <summary>One thread per item.</summary>
    private LaunchShape PerItem(long count) => LaunchShape.Linear(checked((int)CeilDiv(count, ElementGroup)), ElementGroup);

    /// <summary>One row group per row.</summary>
    private LaunchShape PerRow(long rows) => LaunchShape.Linear(checked((int)rows), RowGroup.Size);

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;

    /// <summary>Checks that an element count fits the kernels' 32-bit indexing.</summary>
    private int Count(OpNode node, long count)
    {
        if (count > int.MaxValue - (1 << 24))
        {
            throw new BackendException(_backend,
                $"Node '{node.Name}' ({node.Kind}) covers {count} elements, more than the kernels index (2^31); " +
                "run fewer tokens at a time.");
        }

        return (int)count;
    }

    /// <summary>
    /// A dispatcher-owned work buffer named <paramref name="slot"/> of at least <paramref name="elements"/>
    /// elements, reused by later nodes (all work runs in order). Growing it first waits for the device.
    /// </summary>
    private IDeviceBuffer Scratch(string slot, DType type, long elements)
    {
        long bytes = type.ByteSize(elements);
        if (_scratch.TryGetValue(slot, out var existing))
        {
            if (existing.Desc.ByteSize >= bytes)
            {
                return existing;
            }

            _engine.Wait();
            existing.Dispose();
            _scratch.Remove(slot);
        }

        var created = _engine.AllocateScratch(new TensorDesc($"scratch:{slot}", type, new Shape(Math.Max(elements, 1))));
        _scratch[slot] = created;
        return created;
    }
}
