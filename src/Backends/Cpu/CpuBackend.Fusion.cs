using Accel.Backends.Cpu.Kernels;
using Accel.Graph;

namespace Accel.Backends.Cpu;

/// <summary>
/// Fusion of the first half of the routed experts: <c>GroupedGemm(gate)</c>, <c>GroupedGemm(up)</c>
/// and <c>SwiGlu</c> become one pass in which each tile reads the gate and up weight rows side by
/// side and writes silu(gate) * up * routing weight. The backend learns which products qualify
/// when a session prepares the nodes placed on it (all three placed here, both products feed only
/// that SwiGlu, share the activations and offsets, and are not graph outputs); at run time it defers them and runs
/// them fused when the SwiGlu arrives. Anything else (another node, a transfer touching their
/// buffers) runs the deferred products as they stand first, so results never depend on fusion.
/// </summary>
public sealed unsafe partial class CpuBackend
{
    /// <summary>The products that may be fused, held weakly: an entry goes with its graph.</summary>
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<OpNode, object> _fusible = [];
    private readonly List<DeferredGemm> _deferred = new(2);
    private float[] _rowScales = [];

    /// <summary>A grouped product held back until its SwiGlu arrives.</summary>
    private readonly record struct DeferredGemm(CpuBuffer X, CpuBuffer W, CpuBuffer? Scale, CpuBuffer Offsets, CpuBuffer Y);

    /// <summary>Records every SwiGlu of <paramref name="nodes"/> whose two products may be fused with it.</summary>
    private void NoteFusion(Graph.Graph graph, IReadOnlyList<OpNode> nodes)
    {
        if (!Options.Fuse)
        {
            return;
        }

        var here = new HashSet<OpNode>(nodes, ReferenceEqualityComparer.Instance);
        foreach (var swiglu in nodes.Where(n => n.Kind == OpKind.SwiGlu))
        {
            NoteFusion(swiglu, graph, here);
        }
    }

    /// <summary>Records that the two products feeding <paramref name="swiglu"/> may be fused with it.</summary>
    private void NoteFusion(OpNode swiglu, Graph.Graph graph, HashSet<OpNode> here)
    {
        int gate = swiglu.Inputs[0], up = swiglu.Inputs[1];
        if (gate == up || Producer(graph, gate) is not { Kind: OpKind.GroupedGemm } g
            || Producer(graph, up) is not { Kind: OpKind.GroupedGemm } u
            || !here.Contains(g) || !here.Contains(u)
            || g.Inputs[0] != u.Inputs[0] || g.Inputs[3] != u.Inputs[3]
            || graph.Outputs.Contains(gate) || graph.Outputs.Contains(up))
        {
            return;
        }

        foreach (var node in graph.Nodes)
        {
            if (!ReferenceEquals(node, swiglu) && (node.Inputs.Contains(gate) || node.Inputs.Contains(up)))
            {
                return;
            }
        }

        _fusible.AddOrUpdate(g, swiglu);
        _fusible.AddOrUpdate(u, swiglu);
    }

    private static OpNode? Producer(Graph.Graph graph, int value) =>
        value < 0 || graph.Producers[value] < 0 ? null : graph.Nodes[graph.Producers[value]];

    /// <summary>Holds back a qualifying grouped product; false when it must run now.</summary>
    private bool TryDefer(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IDeviceBuffer output)
    {
        if (node.Kind != OpKind.GroupedGemm || !_fusible.TryGetValue(node, out _) || _deferred.Count == 2)
        {
            return false;
        }

        _deferred.Add(new DeferredGemm((CpuBuffer)inputs[0]!, (CpuBuffer)inputs[1]!, (CpuBuffer?)inputs[2],
            (CpuBuffer)inputs[3]!, (CpuBuffer)output));
        return true;
    }

    /// <summary>Runs the deferred products and the SwiGlu as one pass when they match; false otherwise.</summary>
    private bool TryRunFused(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, CpuBuffer output)
    {
        if (node.Kind != OpKind.SwiGlu || _deferred.Count != 2)
        {
            return false;
        }

        DeferredGemm gate = _deferred[0], up = _deferred[1];
        if (!ReferenceEquals(gate.Y, inputs[0]) || !ReferenceEquals(up.Y, inputs[1])
            || !ReferenceEquals(gate.X, up.X) || !ReferenceEquals(gate.Offsets, up.Offsets))
        {
            return false;
        }

        _deferred.Clear();
        var weights = (CpuBuffer?)inputs[2];
        float* rowScale = weights is null ? null : RowScales((CpuBuffer)inputs[3]!, (CpuBuffer)inputs[4]!, weights);
        GroupedGemm(gate.X, Matrix(gate.W, gate.Scale), gate.Offsets, output,
            Matrix(up.W, up.Scale), ((SwiGluAttributes)node.Attributes).Limit, rowScale);
        return true;
    }

    /// <summary>Runs any deferred products as they stand (before other work that could observe them).</summary>
    private void FlushDeferred()
    {
        foreach (var d in _deferred)
        {
            GroupedGemm(d.X, Matrix(d.W, d.Scale), d.Offsets, d.Y);
        }

        _deferred.Clear();
    }

    /// <summary>
    /// Whether <paramref name="buffer"/> is written by a deferred product or, unless
    /// <paramref name="writtenOnly"/>, read by one (reading its inputs needs no flush; changing them does).
    /// </summary>
    private bool IsDeferred(CpuBuffer buffer, bool writtenOnly = false)
    {
        foreach (var d in _deferred)
        {
            if (ReferenceEquals(d.Y, buffer) || (!writtenOnly && (ReferenceEquals(d.X, buffer) || ReferenceEquals(d.W, buffer)
                || ReferenceEquals(d.Scale, buffer) || ReferenceEquals(d.Offsets, buffer))))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The routing weight of every row of Xp (0 for padding rows), as the SwiGlu op applies it.</summary>
    private float* RowScales(CpuBuffer posToToken, CpuBuffer posToSlot, CpuBuffer weights)
    {
        int rows = posToToken.Dim(0), k = weights.Dim(1);
        if (_rowScales.Length < rows)
        {
            _rowScales = GC.AllocateArray<float>(Math.Max(rows, 2 * _rowScales.Length), pinned: true);
        }

        int* ptt = posToToken.I32, slots = posToSlot.I32;
        float* w = weights.F32;
        fixed (float* s = _rowScales)
        {
            for (int r = 0; r < rows; r++)
            {
                s[r] = RoutingWeight(ptt, slots, w, k, r);
            }

            return s;
        }
    }
}
