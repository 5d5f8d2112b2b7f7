using Accel.Backends.Cpu.Kernels;
using Accel.Backends.Reference;
using Accel.Graph;
using Accel.Types;

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
        new WeightView(weight.Bytes, weight.Desc.Type, default, DType.F32, 1, 1, d).DequantRow(0, 0, wv);
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

    /// <summary>The row-wise routing ops (OP-4, 5, 6, 8): the reference's span routines on row ranges in parallel.</summary>
    private enum RowOp { SelectionBias, GroupLimit, TopK, RouteWeights }

    private void SelectionBias(CpuBuffer p, CpuBuffer b, CpuBuffer q) =>
        RunRows(RowOp.SelectionBias, p.Dim(0), p.Dim(1), 0, p.F32, b.F32, q.F32);

    private void GroupLimitMask(CpuBuffer q, CpuBuffer result, GroupLimitAttributes a)
    {
        var job = RowJob(RowOp.GroupLimit, q.Dim(0), q.Dim(1), a.Groups, q.F32, null, result.F32);
        job.I3 = a.TopGroups;
        job.F0 = (float)(int)a.Score;
        _pool.Run(job);
    }

    private void TopK(CpuBuffer q, CpuBuffer idx, int k) => RunRows(RowOp.TopK, q.Dim(0), q.Dim(1), k, q.F32, null, idx.I32);

    private void RouteWeights(CpuBuffer p, CpuBuffer idx, CpuBuffer w, RouteWeightsAttributes a)
    {
        var job = RowJob(RowOp.RouteWeights, p.Dim(0), p.Dim(1), idx.Dim(1), p.F32, idx.I32, w.F32);
        job.I3 = a.Normalize ? 1 : 0;
        job.F0 = a.Scale;
        job.F1 = a.Epsilon;
        _pool.Run(job);
    }

    private void RunRows(RowOp op, int rows, int experts, int extra, void* a, void* b, void* c) =>
        _pool.Run(RowJob(op, rows, experts, extra, a, b, c));

    private RangeJob RowJob(RowOp op, int rows, int experts, int extra, void* a, void* b, void* c)
    {
        var job = _range.For(rows, Math.Max(16, 8192 / Math.Max(experts, 1)), &RoutingRows);
        job.P0 = a;
        job.P1 = b;
        job.P2 = c;
        job.I0 = experts;
        job.I1 = extra;
        job.I2 = (int)op;
        return job;
    }

    private static void RoutingRows(RangeJob j, int begin, int end)
    {
        int e = j.I0, k = j.I1, n = (end - begin) * e;
        long at = (long)begin * e, atK = (long)begin * k;
        var rows = new ReadOnlySpan<float>((float*)j.P0 + at, n);
        switch ((RowOp)j.I2)
        {
            case RowOp.SelectionBias:
                ReferenceOps.SelectionBias(rows, new ReadOnlySpan<float>(j.P1, e), new Span<float>((float*)j.P2 + at, n), e);
                break;
            case RowOp.GroupLimit:
                ReferenceOps.GroupLimitMask(rows, new Span<float>((float*)j.P2 + at, n), e, k, j.I3, (GroupScore)(int)j.F0);
                break;
            case RowOp.TopK:
                ReferenceOps.TopK(rows, new Span<int>((int*)j.P2 + atK, (end - begin) * k), e, k);
                break;
            default:
                ReferenceOps.RouteWeights(rows, new ReadOnlySpan<int>((int*)j.P1 + atK, (end - begin) * k),
                    new Span<float>((float*)j.P2 + atK, (end - begin) * k), e, k, j.I3 != 0, j.F0, j.F1);
                break;
        }
    }

    private static void HashRoute(CpuBuffer tokenIds, CpuBuffer table, CpuBuffer idx, int experts) =>
        ReferenceOps.HashRoute(tokenIds.I32Span, table.I32Span, idx.I32Span, table.Dim(1), experts);
}
