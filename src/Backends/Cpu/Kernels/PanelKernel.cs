using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// The panel micro-kernel: a block of up to 12 activation rows, packed k-major (xt[k * rows + r],
/// see <see cref="RowBlocks"/>), against two 16-column weight panels stored k-major
/// (<see cref="PanelLayout"/>). Each step along the input dimension loads 16 weights of each
/// panel as one vector (dequantised in registers), broadcasts one activation per row and issues
/// two FMAs per row into 24 accumulators that hold the whole 12 x 32 output tile: no horizontal
/// sums, one contiguous stream per operand, and few enough pointers that nothing spills. With one
/// row it is the decode GEMV (each weight byte read once); with 12 rows the panels stay in cache
/// while row blocks pass over them. Writes <c>tile[r * 32 + j]</c> (panel a, j &lt; 16) and
/// <c>tile[r * 32 + 16 + j]</c> (panel b); <c>prefetch</c> (bytes, 0 for none) is how far ahead the
/// panels are prefetched.
/// </summary>
internal static unsafe class PanelKernel
{
    /// <summary>Rows of X one call handles at most.</summary>
    public const int MaxRows = 12;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TF, TR>(float* xt, byte* pa, byte* pb, byte* sa, byte* sb, int kLength, float* tile, nint prefetch)
        where TF : struct, IWeightFormat
        where TR : struct, IRowCount
    {
        var z = Vector512<float>.Zero;
        Vector512<float> a0 = z, b0 = z;
        Vector512<float> a1 = z, b1 = z;
        Vector512<float> a2 = z, b2 = z;
        Vector512<float> a3 = z, b3 = z;
        Vector512<float> a4 = z, b4 = z;
        Vector512<float> a5 = z, b5 = z;
        Vector512<float> a6 = z, b6 = z;
        Vector512<float> a7 = z, b7 = z;
        Vector512<float> a8 = z, b8 = z;
        Vector512<float> a9 = z, b9 = z;
        Vector512<float> a10 = z, b10 = z;
        Vector512<float> a11 = z, b11 = z;
        float* xk = xt;
        nint step = TF.Offset(16);
        byte* qa = pa, qb = pb;
        for (int kb = 0; kb < kLength; kb += TF.BlockK)
        {
            int kEnd = kLength - kb > TF.BlockK ? kb + TF.BlockK : kLength;
            var scaleA = TF.Scale(sa, kb);
            var scaleB = TF.Scale(sb, kb);
            for (int k = kb; k < kEnd; k++, xk += TR.Count, qa += step, qb += step)
            {
                var wa = TF.Load(qa, 0, scaleA);
                var wb = TF.Load(qb, 0, scaleB);
                if (prefetch != 0)
                {
                    // The first row block streams the panels from memory: fetch a few hundred
                    // cycles ahead, further than the out-of-order window reaches on its own.
                    Sse.Prefetch0(qa + prefetch);
                    Sse.Prefetch0(qb + prefetch);
                }

                {
                    var v = Vector512.Create(xk[0]);
                    a0 = Vector512.FusedMultiplyAdd(v, wa, a0);
                    b0 = Vector512.FusedMultiplyAdd(v, wb, b0);
                }

                if (TR.Count > 1)
                {
                    var v = Vector512.Create(xk[1]);
                    a1 = Vector512.FusedMultiplyAdd(v, wa, a1);
                    b1 = Vector512.FusedMultiplyAdd(v, wb, b1);
                }

                if (TR.Count > 2)
                {
                    var v = Vector512.Create(xk[2]);
                    a2 = Vector512.FusedMultiplyAdd(v, wa, a2);
                    b2 = Vector512.FusedMultiplyAdd(v, wb, b2);
                }

                if (TR.Count > 3)
                {
                    var v = Vector512.Create(xk[3]);
                    a3 = Vector512.FusedMultiplyAdd(v, wa, a3);
                    b3 = Vector512.FusedMultiplyAdd(v, wb, b3);
                }

                if (TR.Count > 4)
                {
                    var v = Vector512.Create(xk[4]);
                    a4 = Vector512.FusedMultiplyAdd(v, wa, a4);
                    b4 = Vector512.FusedMultiplyAdd(v, wb, b4);
                }

                if (TR.Count > 5)
                {
                    var v = Vector512.Create(xk[5]);
                    a5 = Vector512.FusedMultiplyAdd(v, wa, a5);
                    b5 = Vector512.FusedMultiplyAdd(v, wb, b5);
                }

                if (TR.Count > 6)
                {
                    var v = Vector512.Create(xk[6]);
                    a6 = Vector512.FusedMultiplyAdd(v, wa, a6);
                    b6 = Vector512.FusedMultiplyAdd(v, wb, b6);
                }

                if (TR.Count > 7)
                {
                    var v = Vector512.Create(xk[7]);
                    a7 = Vector512.FusedMultiplyAdd(v, wa, a7);
                    b7 = Vector512.FusedMultiplyAdd(v, wb, b7);
                }

                if (TR.Count > 8)
                {
                    var v = Vector512.Create(xk[8]);
                    a8 = Vector512.FusedMultiplyAdd(v, wa, a8);
                    b8 = Vector512.FusedMultiplyAdd(v, wb, b8);
                }

                if (TR.Count > 9)
                {
                    var v = Vector512.Create(xk[9]);
                    a9 = Vector512.FusedMultiplyAdd(v, wa, a9);
                    b9 = Vector512.FusedMultiplyAdd(v, wb, b9);
                }

                if (TR.Count > 10)
                {
                    var v = Vector512.Create(xk[10]);
                    a10 = Vector512.FusedMultiplyAdd(v, wa, a10);
                    b10 = Vector512.FusedMultiplyAdd(v, wb, b10);
                }

                if (TR.Count > 11)
                {
                    var v = Vector512.Create(xk[11]);
                    a11 = Vector512.FusedMultiplyAdd(v, wa, a11);
                    b11 = Vector512.FusedMultiplyAdd(v, wb, b11);
                }
            }
        }

        a0.Store(tile);
        b0.Store(tile + 16);

        if (TR.Count > 1)
        {
            a1.Store(tile + 32);
            b1.Store(tile + 48);
        }

        if (TR.Count > 2)
        {
            a2.Store(tile + 64);
            b2.Store(tile + 80);
        }

        if (TR.Count > 3)
        {
            a3.Store(tile + 96);
            b3.Store(tile + 112);
        }

        if (TR.Count > 4)
        {
            a4.Store(tile + 128);
            b4.Store(tile + 144);
        }

        if (TR.Count > 5)
        {
            a5.Store(tile + 160);
            b5.Store(tile + 176);
        }

        if (TR.Count > 6)
        {
            a6.Store(tile + 192);
            b6.Store(tile + 208);
        }

        if (TR.Count > 7)
        {
            a7.Store(tile + 224);
            b7.Store(tile + 240);
        }

        if (TR.Count > 8)
        {
            a8.Store(tile + 256);
            b8.Store(tile + 272);
        }

        if (TR.Count > 9)
        {
            a9.Store(tile + 288);
            b9.Store(tile + 304);
        }

        if (TR.Count > 10)
        {
            a10.Store(tile + 320);
            b10.Store(tile + 336);
        }

        if (TR.Count > 11)
        {
            a11.Store(tile + 352);
            b11.Store(tile + 368);
        }
    }
}
