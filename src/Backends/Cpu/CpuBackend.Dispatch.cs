using System.Runtime.CompilerServices;
using Accel.Backends.Cpu.Kernels;
using Accel.Backends.Cpu.Routing;
using Accel.Graph;
using System.Numerics;
using System.Runtime.Intrinsics;
using Accel.Types;

namespace Accel.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>Token-id pairs below which the permutation runs as one chunk (the pool's start-up would cost more).</summary>
    private const int PermutationChunkPairs = 16384;

    /// <summary>OP-9a, serial (one counting pass over checked ids).</summary>
    private void ExpertHistogram(OpNode node, CpuBuffer idx, CpuBuffer counts)
    {
        long n = idx.Desc.Shape.Elements;
        IndexChecks.Experts(node, idx.I32, n, idx.Dim(1), counts.Dim(0), WideRouting);
        Segments.Histogram(idx.I32, n, counts.I32, counts.Dim(0));
    }

    /// <summary>OP-9b, serial over the E counts.</summary>
    private static void ExclusiveScan(OpNode node, CpuBuffer counts, CpuBuffer offsets, int alignment)
    {
        IndexChecks.Counts(node, counts.I32, counts.Dim(0), alignment);
        Segments.Scan(counts.I32, offsets.I32, counts.Dim(0), alignment);
    }

    /// <summary>OP-10: a parallel count per token chunk, a serial placement, a parallel fill (see <see cref="Segments"/>).</summary>
    private void BuildPermutation(OpNode node, CpuBuffer idx, CpuBuffer offsets, CpuBuffer posToToken, CpuBuffer posToSlot,
        CpuBuffer tokenSlotToPos)
    {
        int tokens = idx.Dim(0), k = idx.Dim(1), experts = offsets.Dim(0) - 1;
        IndexChecks.Experts(node, idx.I32, (long)tokens * k, k, experts, WideRouting);
        IndexChecks.Offsets(node, offsets.I32, experts, posToToken.Dim(0));
        int chunks = (int)Math.Clamp((long)tokens * k / PermutationChunkPairs, 1, 2L * _pool.Threads);
        int per = Math.Max(1, (tokens + chunks - 1) / chunks);
        chunks = Math.Max(1, (tokens + per - 1) / per);
        int* counts = (int*)Scratch((long)chunks * experts * sizeof(int));
        var job = _range.For(chunks, 1, &CountChunk);
        job.P0 = idx.I32;
        job.P1 = counts;
        job.P2 = posToToken.I32;
        job.P3 = posToSlot.I32;
        job.P4 = tokenSlotToPos.I32;
        job.I0 = k;
        job.I1 = per;
        job.I2 = tokens;
        job.I3 = experts;
        _pool.Run(job);
        Segments.Place(node, counts, chunks, offsets.I32, experts, posToToken.I32, posToSlot.I32, posToToken.Dim(0));
        _pool.Run(job.For(chunks, 1, &FillChunk));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CountChunk(RangeJob j, int begin, int end)
    {
        for (int c = begin; c < end; c++)
        {
            Segments.CountTokens((int*)j.P0, j.I0, c * j.I1, Math.Min(j.I2, (c + 1) * j.I1), (int*)j.P1 + (long)c * j.I3, j.I3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FillChunk(RangeJob j, int begin, int end)
    {
        for (int c = begin; c < end; c++)
        {
            Segments.Fill((int*)j.P0, j.I0, c * j.I1, Math.Min(j.I2, (c + 1) * j.I1), (int*)j.P1 + (long)c * j.I3,
                (int*)j.P2, (int*)j.P3, (int*)j.P4);
        }
    }

    /// <summary>OP-11: Xp[r] = x[pos_to_token[r]], zero for empty rows; rows in parallel.</summary>
    private void Permute(CpuBuffer x, CpuBuffer posToToken, CpuBuffer xp)
    {
        int rows = xp.Dim(0), d = xp.Dim(1);
        var job = _range.For(rows, Math.Max(1, 32768 / Math.Max(d, 1)), &PermuteRows);
        job.P0 = x.F32;
        job.P1 = posToToken.I32;
        job.P2 = xp.F32;
        job.I0 = d;
        job.I1 = x.Dim(0);
        _pool.Run(job);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PermuteRows(RangeJob j, int begin, int end)
    {
        int d = j.I0;
        for (int r = begin; r < end; r++)
        {
            int t = ((int*)j.P1)[r];
            var dst = new Span<float>((float*)j.P2 + (long)r * d, d);
            if (t < 0)
            {
                dst.Clear();
            }
            else
            {
                if (t >= j.I1)
                {
                    throw new IndexOutOfRangeException($"pos_to_token[{r}] = {t} is outside the {j.I1} tokens.");
                }

                new ReadOnlySpan<float>((float*)j.P0 + (long)t * d, d).CopyTo(dst);
            }
        }
    }

    /// <summary>OP-14: y[t] = sum over j (in slot order) of w[t, j] * Yp[pos[t, j]]; tokens in parallel.</summary>
    private void Unpermute(CpuBuffer yp, CpuBuffer tokenSlotToPos, CpuBuffer? weights, CpuBuffer y)
    {
        int tokens = y.Dim(0), d = y.Dim(1);
        var job = _range.For(tokens, Math.Max(1, 16384 / Math.Max(d, 1)), &UnpermuteRows);
        job.P0 = yp.F32;
        job.P1 = tokenSlotToPos.I32;
        job.P2 = weights is null ? null : weights.F32;
        job.P3 = y.F32;
        job.I0 = d;
        job.I1 = tokenSlotToPos.Dim(1);
        job.I2 = yp.Dim(0);
        _pool.Run(job);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnpermuteRows(RangeJob j, int begin, int end)
    {
        int d = j.I0, k = j.I1;
        float* yp = (float*)j.P0, w = (float*)j.P2;
        int* pos = (int*)j.P1;
        for (int t = begin; t < end; t++)
        {
            float* dst = (float*)j.P3 + (long)t * d;
            for (int s = 0; s < k; s++)
            {
                int p = pos[(long)t * k + s];
                if ((uint)p >= (uint)j.I2)
                {
                    throw new IndexOutOfRangeException($"token_slot_to_pos[{t}, {s}] = {p} is outside the {j.I2} rows.");
                }

                // The first slot assigns (0 + a*x, as the reference's accumulation from zero does), later ones add.
                Axpy(w == null ? 1f : w[(long)t * k + s], yp + (long)p * d, dst, d, accumulate: s > 0);
            }

            if (k == 0)
            {
                new Span<float>(dst, d).Clear();
            }
        }
    }

    /// <summary>y = a * x (+ y when <paramref name="accumulate"/>) over n elements.</summary>
    private static void Axpy(float a, float* x, float* y, int n, bool accumulate)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var av = Vector512.Create(a);
            for (; i + 16 <= n; i += 16)
            {
                var acc = accumulate ? Vector512.Load(y + i) : Vector512<float>.Zero;
                Vector512.FusedMultiplyAdd(av, Vector512.Load(x + i), acc).Store(y + i);
            }
        }
        else if (Vector.IsHardwareAccelerated)
        {
            var av = new Vector<float>(a);
            for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
            {
                var acc = accumulate ? Vector.Load(y + i) : Vector<float>.Zero;
                Vector.Store(Vector.FusedMultiplyAdd(av, Vector.Load(x + i), acc), y + i);
            }
        }

        for (; i < n; i++) { y[i] = MathF.FusedMultiplyAdd(a, x[i], accumulate ? y[i] : 0f); }
    }

    /// <summary>OP-16: c = a + b, rows in parallel.</summary>
    private void Add(CpuBuffer a, CpuBuffer b, CpuBuffer c)
    {
        long n = c.Desc.Shape.Elements;
        const int Chunk = 16384;
        var job = _range.For(checked((int)((n + Chunk - 1) / Chunk)), 1, &AddChunks);
        job.P0 = a.F32;
        job.P1 = b.F32;
        job.P2 = c.F32;
        job.I0 = Chunk;
        job.I1 = checked((int)n);
        job.Wide = WideRouting;
        _pool.Run(job);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddChunks(RangeJob j, int begin, int end)
    {
        long from = (long)begin * j.I0, to = Math.Min((long)end * j.I0, j.I1);
        RowMath.Add((float*)j.P0 + from, (float*)j.P1 + from, (float*)j.P2 + from, to - from, j.Wide);
    }

    /// <summary>
    /// OP-17c: per row and 128 columns, s = max(max|x|, 1e-4) / 448 (a power of two when asked),
    /// xq = e4m3(clamp(x / s, -448, 448)).
    /// </summary>
    private static void ActQuantFp8(CpuBuffer x, CpuBuffer xq, CpuBuffer scales, bool powerOfTwo)
    {
        int rows = x.Dim(0), cols = x.Dim(1), blocks = cols / 128;
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                float* xs = x.F32 + (long)r * cols + b * 128;
                float amax = 1e-4f;
                for (int i = 0; i < 128; i++) { amax = Math.Max(amax, Math.Abs(xs[i])); }
                float s = amax / 448f;
                if (powerOfTwo) { s = MathF.Pow(2, MathF.Ceiling(MathF.Log2(s))); }
                scales.F32[(long)r * blocks + b] = s;
                for (int i = 0; i < 128; i++)
                {
                    xq.Pointer[(long)r * cols + b * 128 + i] = NumericFormats.F32ToE4M3(Math.Clamp(xs[i] / s, -448f, 448f));
                }
            }
        }
    }
}
