using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// The panel kernel for one or two activation rows (decode). <see cref="PanelKernel"/> keeps one
/// accumulator per row and panel, so with a single row its two FMA chains wait on each other's
/// latency; here four consecutive k steps go to four accumulator sets (eight or sixteen chains),
/// summed at the end, and each panel stream is prefetched once per 64-byte line rather than every
/// step. Same inputs and tile as <see cref="PanelKernel.Run{TF, TR}"/> (x packed k-major, TR.Count
/// values per k).
/// </summary>
internal static unsafe class PanelDecode
{
    /// <summary>tile[r * 32 + j] = row r against panel a (j &lt; 16) and panel b (j &gt;= 16), for r &lt; TR.Count (1 or 2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TF, TR>(float* xt, byte* pa, byte* pb, byte* sa, byte* sb, int kLength, float* tile, nint prefetch)
        where TF : struct, IWeightFormat
        where TR : struct, IRowCount
    {
        if (TF.Factored && TR.Count == 1)
        {
            RunFactored<TF>(xt, pa, pb, sa, sb, kLength, tile, prefetch);
            return;
        }

        var z = Vector512<float>.Zero;
        Vector512<float> a00 = z, b00 = z;
        Vector512<float> a01 = z, b01 = z;
        Vector512<float> a02 = z, b02 = z;
        Vector512<float> a03 = z, b03 = z;
        Vector512<float> a10 = z, b10 = z;
        Vector512<float> a11 = z, b11 = z;
        Vector512<float> a12 = z, b12 = z;
        Vector512<float> a13 = z, b13 = z;
        nint step = TF.Offset(16);
        byte* qa = pa, qb = pb;
        float* xk = xt;
        for (int kb = 0; kb < kLength; kb += TF.BlockK)
        {
            int kEnd = kLength - kb > TF.BlockK ? kb + TF.BlockK : kLength;
            var scaleA = TF.Scale(sa, kb);
            var scaleB = TF.Scale(sb, kb);
            int k = kb;
            for (; k + 4 <= kEnd; k += 4, xk += 4 * TR.Count, qa += 4 * step, qb += 4 * step)
            {
                Prefetch(qa, qb, prefetch, 4 * step);

                var wa0 = TF.Load(qa + 0 * step, 0, scaleA);
                var wb0 = TF.Load(qb + 0 * step, 0, scaleB);
                var wa1 = TF.Load(qa + 1 * step, 0, scaleA);
                var wb1 = TF.Load(qb + 1 * step, 0, scaleB);
                var wa2 = TF.Load(qa + 2 * step, 0, scaleA);
                var wb2 = TF.Load(qb + 2 * step, 0, scaleB);
                var wa3 = TF.Load(qa + 3 * step, 0, scaleA);
                var wb3 = TF.Load(qb + 3 * step, 0, scaleB);
                var x00 = Vector512.Create(xk[0 * TR.Count]);
                a00 = Vector512.FusedMultiplyAdd(x00, wa0, a00);
                b00 = Vector512.FusedMultiplyAdd(x00, wb0, b00);
                var x01 = Vector512.Create(xk[1 * TR.Count]);
                a01 = Vector512.FusedMultiplyAdd(x01, wa1, a01);
                b01 = Vector512.FusedMultiplyAdd(x01, wb1, b01);
                var x02 = Vector512.Create(xk[2 * TR.Count]);
                a02 = Vector512.FusedMultiplyAdd(x02, wa2, a02);
                b02 = Vector512.FusedMultiplyAdd(x02, wb2, b02);
                var x03 = Vector512.Create(xk[3 * TR.Count]);
                a03 = Vector512.FusedMultiplyAdd(x03, wa3, a03);
                b03 = Vector512.FusedMultiplyAdd(x03, wb3, b03);
                if (TR.Count > 1)
                {
                    var x10 = Vector512.Create(xk[0 * TR.Count + 1]);
                    a10 = Vector512.FusedMultiplyAdd(x10, wa0, a10);
                    b10 = Vector512.FusedMultiplyAdd(x10, wb0, b10);
                    var x11 = Vector512.Create(xk[1 * TR.Count + 1]);
                    a11 = Vector512.FusedMultiplyAdd(x11, wa1, a11);
                    b11 = Vector512.FusedMultiplyAdd(x11, wb1, b11);
                    var x12 = Vector512.Create(xk[2 * TR.Count + 1]);
                    a12 = Vector512.FusedMultiplyAdd(x12, wa2, a12);
                    b12 = Vector512.FusedMultiplyAdd(x12, wb2, b12);
                    var x13 = Vector512.Create(xk[3 * TR.Count + 1]);
                    a13 = Vector512.FusedMultiplyAdd(x13, wa3, a13);
                    b13 = Vector512.FusedMultiplyAdd(x13, wb3, b13);
                }
            }

            for (; k < kEnd; k++, xk += TR.Count, qa += step, qb += step)
            {
                var wa = TF.Load(qa, 0, scaleA);
                var wb = TF.Load(qb, 0, scaleB);
                var x0 = Vector512.Create(xk[0]);
                a00 = Vector512.FusedMultiplyAdd(x0, wa, a00);
                b00 = Vector512.FusedMultiplyAdd(x0, wb, b00);
                if (TR.Count > 1)
                {
                    var x1 = Vector512.Create(xk[1]);
                    a10 = Vector512.FusedMultiplyAdd(x1, wa, a10);
                    b10 = Vector512.FusedMultiplyAdd(x1, wb, b10);
                }
            }
        }

        ((a00 + a01) + (a02 + a03)).Store(tile);
        ((b00 + b01) + (b02 + b03)).Store(tile + 16);
        if (TR.Count > 1)
        {
            ((a10 + a11) + (a12 + a13)).Store(tile + 32);
            ((b10 + b11) + (b12 + b13)).Store(tile + 48);
        }
    }

    /// <summary>
    /// One row against two panels of a factored format (fp8): each block's products are summed
    /// unscaled in their own accumulators and multiplied by the block's scale once at its end, one
    /// multiply per 16 weights fewer than scaling every load.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunFactored<TF>(float* xt, byte* pa, byte* pb, byte* sa, byte* sb, int kLength, float* tile, nint prefetch)
        where TF : struct, IWeightFormat
    {
        var z = Vector512<float>.Zero;
        Vector512<float> a = z, b = z;
        nint step = TF.Offset(16);
        byte* qa = pa, qb = pb;
        float* xk = xt;
        for (int kb = 0; kb < kLength; kb += TF.BlockK)
        {
            int kEnd = kLength - kb > TF.BlockK ? kb + TF.BlockK : kLength;
            Vector512<float> a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
            int k = kb;
            for (; k + 4 <= kEnd; k += 4, xk += 4, qa += 4 * step, qb += 4 * step)
            {
                Prefetch(qa, qb, prefetch, 4 * step);

                var x0 = Vector512.Create(xk[0]);
                a0 = Vector512.FusedMultiplyAdd(x0, TF.Raw(qa, 0), a0);
                b0 = Vector512.FusedMultiplyAdd(x0, TF.Raw(qb, 0), b0);
                var x1 = Vector512.Create(xk[1]);
                a1 = Vector512.FusedMultiplyAdd(x1, TF.Raw(qa + step, 0), a1);
                b1 = Vector512.FusedMultiplyAdd(x1, TF.Raw(qb + step, 0), b1);
                var x2 = Vector512.Create(xk[2]);
                a2 = Vector512.FusedMultiplyAdd(x2, TF.Raw(qa + 2 * step, 0), a2);
                b2 = Vector512.FusedMultiplyAdd(x2, TF.Raw(qb + 2 * step, 0), b2);
                var x3 = Vector512.Create(xk[3]);
                a3 = Vector512.FusedMultiplyAdd(x3, TF.Raw(qa + 3 * step, 0), a3);
                b3 = Vector512.FusedMultiplyAdd(x3, TF.Raw(qb + 3 * step, 0), b3);
            }

            for (; k < kEnd; k++, xk++, qa += step, qb += step)
            {
                var x0 = Vector512.Create(xk[0]);
                a0 = Vector512.FusedMultiplyAdd(x0, TF.Raw(qa, 0), a0);
                b0 = Vector512.FusedMultiplyAdd(x0, TF.Raw(qb, 0), b0);
            }

            a = Vector512.FusedMultiplyAdd((a0 + a1) + (a2 + a3), TF.Scale(sa, kb), a);
            b = Vector512.FusedMultiplyAdd((b0 + b1) + (b2 + b3), TF.Scale(sb, kb), b);
        }

        a.Store(tile);
        b.Store(tile + 16);
    }

    /// <summary>One prefetch per 64-byte line of the next <paramref name="bytes"/> of both panel streams, <paramref name="prefetch"/> bytes ahead (0: none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(byte* qa, byte* qb, nint prefetch, nint bytes)
    {
        if (prefetch != 0)
        {
            for (nint line = 0; line < bytes; line += 64)
            {
                Sse.Prefetch0(qa + prefetch + line);
                Sse.Prefetch0(qb + prefetch + line);
            }
        }
    }
}
