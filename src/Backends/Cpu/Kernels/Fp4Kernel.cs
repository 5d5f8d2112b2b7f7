using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Accel.Types;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// The FP4 (e2m1, UE8M0 1x32 scales) micro-kernel: like <see cref="DotKernel"/> (up to 6 activation
/// rows times 4 weight rows, fp32 accumulators) but a whole 32-column scale block at a time. The
/// block's 16 bytes are widened to 16 dwords once; <c>vpermps</c> looks up the low nibbles (even
/// columns) in the 16-entry decode table scaled by the block's scale, and after a 4-bit shift the
/// high nibbles (odd columns). The activations must therefore be split per block, even columns
/// first (<see cref="SplitRows"/>). Two lookups, one shift and one widening per 32 weights, against
/// four shuffles per 16 in the per-16-column decoder; exact (the table entries times a power of two).
/// </summary>
internal static unsafe class Fp4Kernel
{
    /// <summary>Whether rows of <paramref name="k"/> columns can use this kernel (whole 32-column blocks).</summary>
    public static bool Fits(int k) => k % 32 == 0;

    /// <summary>
    /// Copies <paramref name="rows"/> rows of <paramref name="k"/> floats from <paramref name="x"/>
    /// (stride <paramref name="ldx"/>) to <paramref name="dst"/> (stride k), each 32-column block as
    /// its 16 even columns then its 16 odd columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SplitRows(float* x, int ldx, int rows, int k, float* dst)
    {
        var evenIdx = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var oddIdx = evenIdx + Vector512<int>.One;
        for (int r = 0; r < rows; r++)
        {
            float* s = x + (nint)r * ldx;
            float* d = dst + (nint)r * k;
            for (int c = 0; c < k; c += 32)
            {
                var lo = Vector512.Load(s + c);
                var hi = Vector512.Load(s + c + 16);
                Avx512F.PermuteVar16x32x2(lo, evenIdx, hi).Store(d + c);
                Avx512F.PermuteVar16x32x2(lo, oddIdx, hi).Store(d + c + 16);
            }
        }
    }

    /// <summary>Computes tile[r, n] = sum_k x[r, k] * W[n, k] for r &lt; TR.Count, n &lt; 4; x split by <see cref="SplitRows"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TR>(float* x, int ldx, WeightRows4* w, int kLength, float* tile, nint prefetch)
        where TR : struct, IRowCount
    {
        var z = Vector512<float>.Zero;
        Vector512<float> a00 = z, a01 = z, a02 = z, a03 = z;
        Vector512<float> a10 = z, a11 = z, a12 = z, a13 = z;
        Vector512<float> a20 = z, a21 = z, a22 = z, a23 = z;
        Vector512<float> a30 = z, a31 = z, a32 = z, a33 = z;
        Vector512<float> a40 = z, a41 = z, a42 = z, a43 = z;
        Vector512<float> a50 = z, a51 = z, a52 = z, a53 = z;
        float* x0p = x + 0 * (nint)ldx;
        float* x1p = x + 1 * (nint)ldx;
        float* x2p = x + 2 * (nint)ldx;
        float* x3p = x + 3 * (nint)ldx;
        float* x4p = x + 4 * (nint)ldx;
        float* x5p = x + 5 * (nint)ldx;
        byte* r0 = w->R0, r1 = w->R1, r2 = w->R2, r3 = w->R3;
        byte* s0 = w->S0, s1 = w->S1, s2 = w->S2, s3 = w->S3;
        var table = ConstantVectors.E2M1;
        float* scales = ConstantVectors.Ue8m0;
        for (int k = 0; k < kLength; k += 32)
        {
            nint at = k >> 1;
            if (prefetch != 0 && (k & 127) == 0)
            {
                // One prefetch per 64-byte line (four blocks) of each weight row.
                Sse.Prefetch0(r0 + prefetch + at);
                Sse.Prefetch0(r1 + prefetch + at);
                Sse.Prefetch0(r2 + prefetch + at);
                Sse.Prefetch0(r3 + prefetch + at);
            }

            int b = k >> 5;
            var t0 = table * scales[s0[b]];
            var i0 = Avx512F.ConvertToVector512Int32(Vector128.Load(r0 + at));
            var e0 = Avx512F.PermuteVar16x32(t0, i0);
            var o0 = Avx512F.PermuteVar16x32(t0, Avx512F.ShiftRightLogical(i0, 4));
            var t1 = table * scales[s1[b]];
            var i1 = Avx512F.ConvertToVector512Int32(Vector128.Load(r1 + at));
            var e1 = Avx512F.PermuteVar16x32(t1, i1);
            var o1 = Avx512F.PermuteVar16x32(t1, Avx512F.ShiftRightLogical(i1, 4));
            var t2 = table * scales[s2[b]];
            var i2 = Avx512F.ConvertToVector512Int32(Vector128.Load(r2 + at));
            var e2 = Avx512F.PermuteVar16x32(t2, i2);
            var o2 = Avx512F.PermuteVar16x32(t2, Avx512F.ShiftRightLogical(i2, 4));
            var t3 = table * scales[s3[b]];
            var i3 = Avx512F.ConvertToVector512Int32(Vector128.Load(r3 + at));
            var e3 = Avx512F.PermuteVar16x32(t3, i3);
            var o3 = Avx512F.PermuteVar16x32(t3, Avx512F.ShiftRightLogical(i3, 4));
            var xe0 = Vector512.Load(x0p + k);
            var xo0 = Vector512.Load(x0p + k + 16);
            a00 = Vector512.FusedMultiplyAdd(xo0, o0, Vector512.FusedMultiplyAdd(xe0, e0, a00));
            a01 = Vector512.FusedMultiplyAdd(xo0, o1, Vector512.FusedMultiplyAdd(xe0, e1, a01));
            a02 = Vector512.FusedMultiplyAdd(xo0, o2, Vector512.FusedMultiplyAdd(xe0, e2, a02));
            a03 = Vector512.FusedMultiplyAdd(xo0, o3, Vector512.FusedMultiplyAdd(xe0, e3, a03));

            if (TR.Count > 1)
            {
                var xe1 = Vector512.Load(x1p + k);
                var xo1 = Vector512.Load(x1p + k + 16);
                a10 = Vector512.FusedMultiplyAdd(xo1, o0, Vector512.FusedMultiplyAdd(xe1, e0, a10));
                a11 = Vector512.FusedMultiplyAdd(xo1, o1, Vector512.FusedMultiplyAdd(xe1, e1, a11));
                a12 = Vector512.FusedMultiplyAdd(xo1, o2, Vector512.FusedMultiplyAdd(xe1, e2, a12));
                a13 = Vector512.FusedMultiplyAdd(xo1, o3, Vector512.FusedMultiplyAdd(xe1, e3, a13));
            }

            if (TR.Count > 2)
            {
                var xe2 = Vector512.Load(x2p + k);
                var xo2 = Vector512.Load(x2p + k + 16);
                a20 = Vector512.FusedMultiplyAdd(xo2, o0, Vector512.FusedMultiplyAdd(xe2, e0, a20));
                a21 = Vector512.FusedMultiplyAdd(xo2, o1, Vector512.FusedMultiplyAdd(xe2, e1, a21));
                a22 = Vector512.FusedMultiplyAdd(xo2, o2, Vector512.FusedMultiplyAdd(xe2, e2, a22));
                a23 = Vector512.FusedMultiplyAdd(xo2, o3, Vector512.FusedMultiplyAdd(xe2, e3, a23));
            }

            if (TR.Count > 3)
            {
                var xe3 = Vector512.Load(x3p + k);
                var xo3 = Vector512.Load(x3p + k + 16);
                a30 = Vector512.FusedMultiplyAdd(xo3, o0, Vector512.FusedMultiplyAdd(xe3, e0, a30));
                a31 = Vector512.FusedMultiplyAdd(xo3, o1, Vector512.FusedMultiplyAdd(xe3, e1, a31));
                a32 = Vector512.FusedMultiplyAdd(xo3, o2, Vector512.FusedMultiplyAdd(xe3, e2, a32));
                a33 = Vector512.FusedMultiplyAdd(xo3, o3, Vector512.FusedMultiplyAdd(xe3, e3, a33));
            }

            if (TR.Count > 4)
            {
                var xe4 = Vector512.Load(x4p + k);
                var xo4 = Vector512.Load(x4p + k + 16);
                a40 = Vector512.FusedMultiplyAdd(xo4, o0, Vector512.FusedMultiplyAdd(xe4, e0, a40));
                a41 = Vector512.FusedMultiplyAdd(xo4, o1, Vector512.FusedMultiplyAdd(xe4, e1, a41));
                a42 = Vector512.FusedMultiplyAdd(xo4, o2, Vector512.FusedMultiplyAdd(xe4, e2, a42));
                a43 = Vector512.FusedMultiplyAdd(xo4, o3, Vector512.FusedMultiplyAdd(xe4, e3, a43));
            }

            if (TR.Count > 5)
            {
                var xe5 = Vector512.Load(x5p + k);
                var xo5 = Vector512.Load(x5p + k + 16);
                a50 = Vector512.FusedMultiplyAdd(xo5, o0, Vector512.FusedMultiplyAdd(xe5, e0, a50));
                a51 = Vector512.FusedMultiplyAdd(xo5, o1, Vector512.FusedMultiplyAdd(xe5, e1, a51));
                a52 = Vector512.FusedMultiplyAdd(xo5, o2, Vector512.FusedMultiplyAdd(xe5, e2, a52));
                a53 = Vector512.FusedMultiplyAdd(xo5, o3, Vector512.FusedMultiplyAdd(xe5, e3, a53));
            }
        }

        DotKernel.Reduce4(a00, a01, a02, a03).Store(tile);

        if (TR.Count > 1)
        {
            DotKernel.Reduce4(a10, a11, a12, a13).Store(tile + 4);
        }

        if (TR.Count > 2)
        {
            DotKernel.Reduce4(a20, a21, a22, a23).Store(tile + 8);
        }

        if (TR.Count > 3)
        {
            DotKernel.Reduce4(a30, a31, a32, a33).Store(tile + 12);
        }

        if (TR.Count > 4)
        {
            DotKernel.Reduce4(a40, a41, a42, a43).Store(tile + 16);
        }

        if (TR.Count > 5)
        {
            DotKernel.Reduce4(a50, a51, a52, a53).Store(tile + 20);
        }
    }
}
