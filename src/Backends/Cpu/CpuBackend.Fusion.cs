using Accel.Backends.Cpu.Kernels;
using Accel.Graph;

namespace Accel.Backends.Cpu;

/// <summary>
/// Fusion of the first half of the routed experts: <c>GroupedGemm(gate)</c>, <c>GroupedGemm(up)</c>
/// and <c>SwiGlu</c> become one pass in which each tile reads the gate and up weight rows side by
/// side and writes silu(gate) * up * routing weight. The backend learns which products qualify
/// when a session prepares the nodes placed on it (all three placed here, both products feed only
/// that SwiGlu, share the activations and offsets, and are not graph outputs); at run time it defers them and runs
/// them fused when the SwiGlu arrives. Anything that depends on a deferred product (a node or a
/// copy that reads its result, or writes a buffer it reads or writes) runs that product as it
/// stands first. Work on other buffers leaves it deferred: sessions sharing the backend have
/// their own buffers, so one session's ops, copies or synchronisation between another's
/// products and its SwiGlu do not turn that SwiGlu unfused. Fused and unfused results agree only
/// to rounding, so this keeps every session's results bit for bit those of a run alone.
/// </summary>
public sealed unsafe partial class CpuBackend
{
    /// <summary>The products that may be fused, held weakly: an entry goes with its graph.</summary>
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<OpNode, object> _fusible = [];

    /// <summary>The value of every <see cref="_fusible"/> entry (the table is used as a weak set).</summary>
    private static readonly object Fusible = new();
    private readonly List<DeferredGemm> _deferred = new(4);
    private float[] _rowScales = [];

    /// <summary>A grouped product held back until its SwiGlu arrives.</summary>
    private readonly record struct DeferredGemm(CpuBuffer X, CpuBuffer W, CpuBuffer? Scale, CpuBuffer Offsets, CpuBuffer Y)
    {
        /// <summary>Whether the product reads <paramref name="b"/>.</summary>
        public bool Reads(CpuBuffer b) => ReferenceEquals(X, b) || ReferenceEquals(W, b) || ReferenceEquals(Scale, b)
            || ReferenceEquals(Offsets, b);
    }

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

        _fusible.AddOrUpdate(g, Fusible);
        _fusible.AddOrUpdate(u, Fusible);
    }

    private static OpNode? Producer(Graph.Graph graph, int value) =>
        value < 0 || graph.Producers[value] < 0 ? null : graph.Nodes[graph.Producers[value]];

    /// <summary>Holds back a qualifying grouped product; false when it must run now.</summary>
    private bool TryDefer(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IDeviceBuffer output)
    {
        if (node.Kind != OpKind.GroupedGemm || !_fusible.TryGetValue(node, out _))
        {
            return false;
        }

        _deferred.Add(new DeferredGemm((CpuBuffer)inputs[0]!, (CpuBuffer)inputs[1]!, (CpuBuffer?)inputs[2],
            (CpuBuffer)inputs[3]!, (CpuBuffer)output));
        return true;
    }

    /// <summary>Runs the two deferred products feeding a SwiGlu and the SwiGlu as one pass; false when they are not both deferred.</summary>
    private bool TryRunFused(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, CpuBuffer output)
    {
        if (node.Kind != OpKind.SwiGlu)
        {
            return false;
        }

        int g = IndexOfProduct(inputs[0]), u = IndexOfProduct(inputs[1]);
        if (g < 0 || u < 0 || g == u)
        {
            return false;
        }

        DeferredGemm gate = _deferred[g], up = _deferred[u];
        if (!ReferenceEquals(gate.X, up.X) || !ReferenceEquals(gate.Offsets, up.Offsets))
        {
            return false;
        }

        _deferred.RemoveAt(Math.Max(g, u));
        _deferred.RemoveAt(Math.Min(g, u));
        var weights = (CpuBuffer?)inputs[2];
        float* rowScale = weights is null ? null : RowScales((CpuBuffer)inputs[3]!, (CpuBuffer)inputs[4]!, weights);
        GroupedGemm(gate.X, Matrix(gate.W, gate.Scale), gate.Offsets, output,
            Matrix(up.W, up.Scale), ((SwiGluAttributes)node.Attributes).Limit, rowScale);
        return true;
    }

    /// <summary>The index of the deferred product writing <paramref name="buffer"/>, or -1.</summary>
    private int IndexOfProduct(IDeviceBuffer? buffer)
    {
        for (int i = 0; i < _deferred.Count; i++)
        {
            if (ReferenceEquals(_deferred[i].Y, buffer))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Runs the deferred products a node with these inputs and outputs depends on.</summary>
    private void FlushFor(IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        for (int i = 0; i < inputs.Count && _deferred.Count > 0; i++)
        {
            if (inputs[i] is CpuBuffer b)
            {
                FlushFor(b, written: false);
            }
        }

        for (int i = 0; i < outputs.Count && _deferred.Count > 0; i++)
        {
            FlushFor((CpuBuffer)outputs[i], written: true);
        }
    }

    /// <summary>
    /// Runs, in the order they were deferred, the products that write <paramref name="buffer"/> and,
    /// when it is about to be <paramref name="written"/>, those that read it.
    /// </summary>
    private void FlushFor(CpuBuffer buffer, bool written)
    {
        for (int i = 0; i < _deferred.Count;)
        {
            var d = _deferred[i];
            if (ReferenceEquals(d.Y, buffer) || (written && d.Reads(buffer)))
            {
                _deferred.RemoveAt(i);
                GroupedGemm(d.X, Matrix(d.W, d.Scale), d.Offsets, d.Y);
            }
            else
            {
                i++;
            }
        }
    }

    /// <summary>Drops the deferred products that use <paramref name="buffer"/> (it is gone, so nothing can read their results).</summary>
    private void Forget(CpuBuffer buffer)
    {
        for (int i = _deferred.Count - 1; i >= 0; i--)
        {
            if (ReferenceEquals(_deferred[i].Y, buffer) || _deferred[i].Reads(buffer))
            {
                _deferred.RemoveAt(i);
            }
        }
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
