using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>Four weight rows (stored bytes) and their scale rows.</summary>
internal unsafe struct WeightRows4
{
    public byte* R0, R1, R2, R3;
    public byte* S0, S1, S2, S3;
}

/// <summary>
/// The AVX-512 micro-kernel: up to 6 activation rows times 4 weight rows, dot products along the
/// input dimension, 24 fp32 accumulators in registers. Weights are read once per call in their
/// stored format and dequantised in registers (<see cref="IWeightFormat"/>); the same kernel is
/// the decode GEMV (one row, weights streamed from memory once) and the prefill GEMM (6 rows, the
/// 4 weight rows reused from cache across row blocks). Results go to <c>tile[r * 4 + n]</c>;
/// <c>prefetch</c> (bytes, 0 for none) is the distance ahead at which weight rows are prefetched.
/// </summary>
internal static unsafe class DotKernel
{
    /// <summary>Computes tile[r, n] = sum_k x[r, k] * W[n, k] for r &lt; TR.Count, n &lt; 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TF, TR>(float* x, int ldx, WeightRows4* w, int kLength, float* tile, nint prefetch)
        where TF : struct, IWeightFormat
        where TR : struct, IRowCount
    {
        var z = Vector512<float>.Zero;
        Vector512<float> a00 = z, a01 = z, a02 = z, a03 = z;
        Vector512<float> a10 = z, a11 = z, a12 = z, a13 = z;
        Vector512<float> a20 = z, a21 = z, a22 = z, a23 = z;
        Vector512<float> a30 = z, a31 = z, a32 = z, a33 = z;
        Vector512<float> a40 = z, a41 = z, a42 = z, a43 = z;
        Vector512<float> a50 = z, a51 = z, a52 = z, a53 = z;
        float* x0p = x;
        float* x1p = x + 1 * (nint)ldx;
        float* x2p = x + 2 * (nint)ldx;
        float* x3p = x + 3 * (nint)ldx;
        float* x4p = x + 4 * (nint)ldx;
        float* x5p = x + 5 * (nint)ldx;
        byte* r0 = w->R0, r1 = w->R1, r2 = w->R2, r3 = w->R3;
        int kMain = kLength & ~15;
        for (int kb = 0; kb < kMain; kb += TF.BlockK)
        {
            int kEnd = kMain - kb > TF.BlockK ? kb + TF.BlockK : kMain;
            var s0 = TF.Scale(w->S0, kb);
            var s1 = TF.Scale(w->S1, kb);
            var s2 = TF.Scale(w->S2, kb);
            var s3 = TF.Scale(w->S3, kb);
            for (int k = kb; k < kEnd; k += 16)
            {
                var w0 = TF.Load(r0, k, s0);
                var w1 = TF.Load(r1, k, s1);
                var w2 = TF.Load(r2, k, s2);
                var w3 = TF.Load(r3, k, s3);
                if (prefetch != 0 && (TF.Offset(k) & 63) == 0)
                {
                    // Weight rows a few blocks ahead, once per 64-byte line: short rows are too brief
                    // for the hardware prefetcher to ramp up, so decode would otherwise wait on DRAM.
                    nint at = prefetch + TF.Offset(k);
                    Sse.Prefetch0(r0 + at);
                    Sse.Prefetch0(r1 + at);
                    Sse.Prefetch0(r2 + at);
                    Sse.Prefetch0(r3 + at);
                }

                var x0 = Vector512.Load(x0p + k);
                a00 = Vector512.FusedMultiplyAdd(x0, w0, a00);
                a01 = Vector512.FusedMultiplyAdd(x0, w1, a01);
                a02 = Vector512.FusedMultiplyAdd(x0, w2, a02);
                a03 = Vector512.FusedMultiplyAdd(x0, w3, a03);

                if (TR.Count > 1)
                {
                    var x1 = Vector512.Load(x1p + k);
                    a10 = Vector512.FusedMultiplyAdd(x1, w0, a10);
                    a11 = Vector512.FusedMultiplyAdd(x1, w1, a11);
                    a12 = Vector512.FusedMultiplyAdd(x1, w2, a12);
                    a13 = Vector512.FusedMultiplyAdd(x1, w3, a13);
                }

                if (TR.Count > 2)
                {
                    var x2 = Vector512.Load(x2p + k);
                    a20 = Vector512.FusedMultiplyAdd(x2, w0, a20);
                    a21 = Vector512.FusedMultiplyAdd(x2, w1, a21);
                    a22 = Vector512.FusedMultiplyAdd(x2, w2, a22);
                    a23 = Vector512.FusedMultiplyAdd(x2, w3, a23);
                }

                if (TR.Count > 3)
                {
                    var x3 = Vector512.Load(x3p + k);
                    a30 = Vector512.FusedMultiplyAdd(x3, w0, a30);
                    a31 = Vector512.FusedMultiplyAdd(x3, w1, a31);
                    a32 = Vector512.FusedMultiplyAdd(x3, w2, a32);
                    a33 = Vector512.FusedMultiplyAdd(x3, w3, a33);
                }

                if (TR.Count > 4)
                {
                    var x4 = Vector512.Load(x4p + k);
                    a40 = Vector512.FusedMultiplyAdd(x4, w0, a40);
                    a41 = Vector512.FusedMultiplyAdd(x4, w1, a41);
                    a42 = Vector512.FusedMultiplyAdd(x4, w2, a42);
                    a43 = Vector512.FusedMultiplyAdd(x4, w3, a43);
                }

                if (TR.Count > 5)
                {
                    var x5 = Vector512.Load(x5p + k);
                    a50 = Vector512.FusedMultiplyAdd(x5, w0, a50);
                    a51 = Vector512.FusedMultiplyAdd(x5, w1, a51);
                    a52 = Vector512.FusedMultiplyAdd(x5, w2, a52);
                    a53 = Vector512.FusedMultiplyAdd(x5, w3, a53);
                }
            }
        }

        Reduce4(a00, a01, a02, a03).Store(tile);
        if (TR.Count > 1)
        {
            Reduce4(a10, a11, a12, a13).Store(tile + 4);
        }

        if (TR.Count > 2)
        {
            Reduce4(a20, a21, a22, a23).Store(tile + 8);
        }

        if (TR.Count > 3)
        {
            Reduce4(a30, a31, a32, a33).Store(tile + 12);
        }

        if (TR.Count > 4)
        {
            Reduce4(a40, a41, a42, a43).Store(tile + 16);
        }

        if (TR.Count > 5)
        {
            Reduce4(a50, a51, a52, a53).Store(tile + 20);
        }

        if (kMain < kLength)
        {
            Tail<TF>(x, ldx, TR.Count, w, kMain, kLength, tile);
        }
    }

    private static void Tail<TF>(float* x, int ldx, int rows, WeightRows4* w, int kFrom, int kTo, float* tile)
        where TF : struct, IWeightFormat
    {
        byte** r = stackalloc byte*[4] { w->R0, w->R1, w->R2, w->R3 };
        byte** s = stackalloc byte*[4] { w->S0, w->S1, w->S2, w->S3 };
        for (int n = 0; n < 4; n++)
        {
            for (int k = kFrom; k < kTo; k++)
            {
                float wv = TF.Scalar(r[n], s[n], k);
                for (int m = 0; m < rows; m++)
                {
                tile[m * 4 + n] += x[m * (nint)ldx + k] * wv;
                }
            }
        }
    }

    /// <summary>The four horizontal sums of a, b, c, d as one 128-bit vector (transpose-and-add).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Reduce4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        var ab = Avx512F.UnpackLow(a, b) + Avx512F.UnpackHigh(a, b);
        var cd = Avx512F.UnpackLow(c, d) + Avx512F.UnpackHigh(c, d);
        var abcd = Avx512F.UnpackLow(ab.AsDouble(), cd.AsDouble()).AsSingle() + Avx512F.UnpackHigh(ab.AsDouble(), cd.AsDouble()).AsSingle();
        var half = abcd.GetLower() + abcd.GetUpper();
        return half.GetLower() + half.GetUpper();
    }
}
