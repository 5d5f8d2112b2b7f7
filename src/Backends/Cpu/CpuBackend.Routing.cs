using Accel.Backends.Cpu.Kernels;
using Accel.Backends.Reference;
using Accel.Graph;

namespace Accel.Backends.Cpu;

/// <summary>
/// Routing ops: a small share of a layer's time, so they run the reference's span routines (same
/// semantics, ties and checks by construction); only the scoring is split over the worker pool.
/// </summary>
public sealed unsafe partial class CpuBackend
{
    /// <summary>OP-1, with the norm weight decoded from its stored format once.</summary>
    private static void RmsNorm(CpuBuffer x, CpuBuffer weight, CpuBuffer y, float eps)
    {
        int d = x.Dim(1);
        Span<float> wv = d <= 8192 ? stackalloc float[d] : new float[d];
        new WeightMatrix(weight.Pointer, null, WeightMatrix.FormatOf(weight.Desc.Type, null), 1, 1, d, false).DequantRow(0, 0, wv);
        ReferenceOps.RmsNorm(x.F32Span, wv, y.F32Span, d, eps);
    }

    /// <summary>OP-3, rows split over the worker pool.</summary>
    private void RouterScore(CpuBuffer z, CpuBuffer p, ScoreFunc func)
    {
        int rows = z.Dim(0), experts = z.Dim(1);
        var job = _range.For(rows, 32, &ScoreRows);
        job.P0 = z.F32;
        job.P1 = p.F32;
        job.I0 = experts;
        job.I1 = (int)func;
        _pool.Run(job);
    }

    private static void ScoreRows(RangeJob j, int begin, int end)
    {
        int experts = j.I0, n = (end - begin) * experts;
        var z = new ReadOnlySpan<float>((float*)j.P0 + (long)begin * experts, n);
        var p = new Span<float>((float*)j.P1 + (long)begin * experts, n);
        ReferenceOps.RouterScore(z, p, experts, (ScoreFunc)j.I1);
    }

    private static void SelectionBias(CpuBuffer p, CpuBuffer b, CpuBuffer q) =>
        ReferenceOps.SelectionBias(p.F32Span, b.F32Span, q.F32Span, p.Dim(1));

    private static void GroupLimitMask(CpuBuffer q, CpuBuffer result, GroupLimitAttributes a) =>
        ReferenceOps.GroupLimitMask(q.F32Span, result.F32Span, q.Dim(1), a.Groups, a.TopGroups, a.Score);

    private static void TopK(CpuBuffer q, CpuBuffer idx, int k) => ReferenceOps.TopK(q.F32Span, idx.I32Span, q.Dim(1), k);

    private static void HashRoute(CpuBuffer tokenIds, CpuBuffer table, CpuBuffer idx, int experts) =>
        ReferenceOps.HashRoute(tokenIds.I32Span, table.I32Span, idx.I32Span, table.Dim(1), experts);

    private static void RouteWeights(CpuBuffer p, CpuBuffer idx, CpuBuffer w, RouteWeightsAttributes a) =>
        ReferenceOps.RouteWeights(p.F32Span, idx.I32Span, w.F32Span, p.Dim(1), idx.Dim(1), a.Normalize, a.Scale, a.Epsilon);
}
