using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Accel.Backends.Cpu.Kernels;
using Accel.Backends.Cpu.Routing;
using Accel.Graph;
using Accel.Types;

namespace Accel.Backends.Cpu;

/// <summary>
/// Routing ops (OP-1, OP-3 to OP-8) with the backend's own row kernels (the <c>Routing</c> folder):
/// rows split over the worker pool, each row vectorised on the AVX-512 or the portable path.
/// </summary>
public sealed unsafe partial class CpuBackend
{
    /// <summary>Whether the routing kernels run 16 lanes (AVX-512) rather than the portable vectors.</summary>
    private bool WideRouting => !_portable && Vector512.IsHardwareAccelerated;

    /// <summary>OP-1, with the norm weight decoded from its stored format once.</summary>
    private void RmsNorm(CpuBuffer x, CpuBuffer weight, CpuBuffer y, float eps)
    {
        int d = x.Dim(1);
        float* w = (float*)Scratch((long)d * sizeof(float));
        new WeightView(weight.Bytes, weight.Desc.Type, default, DType.F32, 1, 1, d).DequantRow(0, 0, new Span<float>(w, d));
        var job = Rows(x.Dim(0), d, &NormRows, x.F32, w, y.F32);
        job.F0 = eps;
        _pool.Run(job);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NormRows(RangeJob j, int begin, int end)
    {
        for (int r = begin; r < end; r++)
        {
            long at = (long)r * j.I0;
            RowMath.RmsNorm((float*)j.P0 + at, (float*)j.P1, (float*)j.P2 + at, j.I0, j.F0, j.Wide);
        }
    }

    /// <summary>OP-3.</summary>
    private void RouterScore(CpuBuffer z, CpuBuffer p, ScoreFunc func)
    {
        var job = Rows(z.Dim(0), z.Dim(1), &ScoreRows, z.F32, null, p.F32);
        job.I1 = (int)func;
        _pool.Run(job);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScoreRows(RangeJob j, int begin, int end)
    {
        for (int r = begin; r < end; r++)
        {
            long at = (long)r * j.I0;
            Scores.Row((float*)j.P0 + at, (float*)j.P2 + at, j.I0, (ScoreFunc)j.I1, j.Wide);
        }
    }

    /// <summary>OP-4: q = p + b per row.</summary>
    private void SelectionBias(CpuBuffer p, CpuBuffer b, CpuBuffer q) =>
        _pool.Run(Rows(p.Dim(0), p.Dim(1), &BiasRows, p.F32, b.F32, q.F32));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BiasRows(RangeJob j, int begin, int end)
    {
        for (int r = begin; r < end; r++)
        {
            long at = (long)r * j.I0;
            RowMath.Add((float*)j.P0 + at, (float*)j.P1, (float*)j.P2 + at, j.I0, j.Wide);
        }
    }

    /// <summary>OP-5.</summary>
    private void GroupLimitMask(CpuBuffer q, CpuBuffer result, GroupLimitAttributes a)
    {
        var job = Rows(q.Dim(0), q.Dim(1), &GroupRows, q.F32, null, result.F32);
        job.I1 = a.Groups;
        job.I2 = a.TopGroups;
        job.I3 = (int)a.Score;
        _pool.Run(job);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GroupRows(RangeJob j, int begin, int end)
    {
        int need = GroupLimit.ScratchInts(j.I1, j.Wide);
        Span<int> scratch = need <= 4096 ? stackalloc int[need] : new int[need];
        fixed (int* s = scratch)
        {
            for (int r = begin; r < end; r++)
            {
                long at = (long)r * j.I0;
                GroupLimit.Row((float*)j.P0 + at, (float*)j.P2 + at, j.I0, j.I1, j.I2, (GroupScore)j.I3, s, j.Wide);
            }
        }
    }

    /// <summary>OP-6.</summary>
    private void TopK(CpuBuffer q, CpuBuffer idx, int k)
    {
        var job = Rows(q.Dim(0), q.Dim(1), &TopKRows, q.F32, null, idx.I32);
        job.I1 = k;
        _pool.Run(job);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TopKRows(RangeJob j, int begin, int end)
    {
        int need = TopKSelector.ScratchInts(j.I0, j.Wide);
        Span<int> scratch = need <= 8192 ? stackalloc int[need] : new int[need];
        fixed (int* s = scratch)
        {
            for (int r = begin; r < end; r++)
            {
                TopKSelector.Select((float*)j.P0 + (long)r * j.I0, j.I0, j.I1, (int*)j.P2 + (long)r * j.I1, s, j.Wide);
            }
        }
    }

    /// <summary>OP-7, serial (a gather of T*K ids with its checks).</summary>
    private static void HashRoute(OpNode node, CpuBuffer tokenIds, CpuBuffer table, CpuBuffer idx, int experts) =>
        IndexChecks.HashRoute(node, tokenIds.I32, tokenIds.Dim(0), table.I32, table.Dim(0), table.Dim(1), idx.I32, experts);

    /// <summary>OP-8, the ids checked first.</summary>
    private void RouteWeights(OpNode node, CpuBuffer p, CpuBuffer idx, CpuBuffer w, RouteWeightsAttributes a)
    {
        int k = idx.Dim(1);
        IndexChecks.Experts(node, idx.I32, (long)idx.Dim(0) * k, k, p.Dim(1), WideRouting);
        var job = Rows(p.Dim(0), p.Dim(1), &WeightRows, p.F32, idx.I32, w.F32);
        job.I1 = k;
        job.I2 = a.Normalize ? 1 : 0;
        job.F0 = a.Scale;
        job.F1 = a.Epsilon;
        _pool.Run(job);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WeightRows(RangeJob j, int begin, int end)
    {
        for (int r = begin; r < end; r++)
        {
            long at = (long)r * j.I1;
            RowMath.RouteWeights((float*)j.P0 + (long)r * j.I0, (int*)j.P1 + at, (float*)j.P2 + at, j.I1, j.I2 != 0, j.F0, j.F1);
        }
    }

    /// <summary>A job over <paramref name="rows"/> rows of <paramref name="width"/> values, in chunks of about 8K values.</summary>
    private RangeJob Rows(int rows, int width, delegate*<RangeJob, int, int, void> body, void* a, void* b, void* c)
    {
        var job = _range.For(rows, Math.Max(16, 8192 / Math.Max(width, 1)), body);
        job.P0 = a;
        job.P1 = b;
        job.P2 = c;
        job.I0 = width;
        job.Wide = WideRouting;
        return job;
    }
}
