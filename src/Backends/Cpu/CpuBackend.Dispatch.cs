using Accel.Backends.Cpu.Kernels;
using Accel.Backends.Reference;
using System.Numerics;
using System.Runtime.Intrinsics;
using Accel.Types;

namespace Accel.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    // OP-9a, OP-9b and OP-10 are serial and cheap: the reference's span routines (same order and checks).
    private static void ExpertHistogram(CpuBuffer idx, CpuBuffer counts) =>
        ReferenceOps.ExpertHistogram(idx.I32Span, counts.I32Span);

    private static void ExclusiveScan(CpuBuffer counts, CpuBuffer offsets, int alignment) =>
        ReferenceOps.ExclusiveScan(counts.I32Span, offsets.I32Span, alignment);

    private static void BuildPermutation(CpuBuffer idx, CpuBuffer offsets, CpuBuffer posToToken, CpuBuffer posToSlot,
        CpuBuffer tokenSlotToPos) =>
        ReferenceOps.BuildPermutation(idx.I32Span, offsets.I32Span, posToToken.I32Span, posToSlot.I32Span,
            tokenSlotToPos.I32Span, idx.Dim(1));

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
        _pool.Run(job);
    }

    private static void AddChunks(RangeJob j, int begin, int end)
    {
        long from = (long)begin * j.I0, to = Math.Min((long)end * j.I0, j.I1);
        float* a = (float*)j.P0, b = (float*)j.P1, c = (float*)j.P2;
        long i = from;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= to; i += 16)
            {
                (Vector512.Load(a + i) + Vector512.Load(b + i)).Store(c + i);
            }
        }
        else if (Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<float>.Count <= to; i += Vector<float>.Count)
            {
                Vector.Store(Vector.Load(a + i) + Vector.Load(b + i), c + i);
            }
        }

        for (; i < to; i++) { c[i] = a[i] + b[i]; }
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
