using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>A compile-time count of 16-row vectors of activations (1 to 3) for <see cref="PackedKernel"/>.</summary>
internal interface IVectorCount
{
    /// <summary>Vectors of 16 activation rows.</summary>
    static abstract int Count { get; }
}

#pragma warning disable CS1591
internal readonly struct V1 : IVectorCount { public static int Count => 1; }
internal readonly struct V2 : IVectorCount { public static int Count => 2; }
internal readonly struct V3 : IVectorCount { public static int Count => 3; }
#pragma warning restore CS1591

/// <summary>
/// The prefill micro-kernel (fp32 weights): activations packed transposed, xt[k][0..16*TV),
/// weights read in place (8 rows, one broadcast per row and k), 24 accumulators holding an
/// 8 x 48 output tile across the whole input dimension, so no horizontal reductions are needed.
/// Writes c[r * 16*TV + j] = sum_k w[r][k] * xt[k][j].
/// </summary>
internal static unsafe class PackedKernel
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TV>(float* xt, int kLength, float** w, float* c)
        where TV : struct, IVectorCount
    {
        var z = Vector512<float>.Zero;
        int ld = TV.Count * 16;
        Vector512<float> c00 = z, c01 = z, c02 = z;
        Vector512<float> c10 = z, c11 = z, c12 = z;
        Vector512<float> c20 = z, c21 = z, c22 = z;
        Vector512<float> c30 = z, c31 = z, c32 = z;
        Vector512<float> c40 = z, c41 = z, c42 = z;
        Vector512<float> c50 = z, c51 = z, c52 = z;
        Vector512<float> c60 = z, c61 = z, c62 = z;
        Vector512<float> c70 = z, c71 = z, c72 = z;
        float* w0 = w[0];
        float* w1 = w[1];
        float* w2 = w[2];
        float* w3 = w[3];
        float* w4 = w[4];
        float* w5 = w[5];
        float* w6 = w[6];
        float* w7 = w[7];
        float* xk = xt;
        for (int k = 0; k < kLength; k++, xk += ld)
        {
            var x0 = Vector512.Load(xk);
            var x1 = TV.Count > 1 ? Vector512.Load(xk + 16) : z;
            var x2 = TV.Count > 2 ? Vector512.Load(xk + 32) : z;
                var b0 = Vector512.Create(w0[k]);
                c00 = Vector512.FusedMultiplyAdd(b0, x0, c00);
                if (TV.Count > 1) { c01 = Vector512.FusedMultiplyAdd(b0, x1, c01); }
                if (TV.Count > 2) { c02 = Vector512.FusedMultiplyAdd(b0, x2, c02); }
                var b1 = Vector512.Create(w1[k]);
                c10 = Vector512.FusedMultiplyAdd(b1, x0, c10);
                if (TV.Count > 1) { c11 = Vector512.FusedMultiplyAdd(b1, x1, c11); }
                if (TV.Count > 2) { c12 = Vector512.FusedMultiplyAdd(b1, x2, c12); }
                var b2 = Vector512.Create(w2[k]);
                c20 = Vector512.FusedMultiplyAdd(b2, x0, c20);
                if (TV.Count > 1) { c21 = Vector512.FusedMultiplyAdd(b2, x1, c21); }
                if (TV.Count > 2) { c22 = Vector512.FusedMultiplyAdd(b2, x2, c22); }
                var b3 = Vector512.Create(w3[k]);
                c30 = Vector512.FusedMultiplyAdd(b3, x0, c30);
                if (TV.Count > 1) { c31 = Vector512.FusedMultiplyAdd(b3, x1, c31); }
                if (TV.Count > 2) { c32 = Vector512.FusedMultiplyAdd(b3, x2, c32); }
                var b4 = Vector512.Create(w4[k]);
                c40 = Vector512.FusedMultiplyAdd(b4, x0, c40);
                if (TV.Count > 1) { c41 = Vector512.FusedMultiplyAdd(b4, x1, c41); }
                if (TV.Count > 2) { c42 = Vector512.FusedMultiplyAdd(b4, x2, c42); }
                var b5 = Vector512.Create(w5[k]);
                c50 = Vector512.FusedMultiplyAdd(b5, x0, c50);
                if (TV.Count > 1) { c51 = Vector512.FusedMultiplyAdd(b5, x1, c51); }
                if (TV.Count > 2) { c52 = Vector512.FusedMultiplyAdd(b5, x2, c52); }
                var b6 = Vector512.Create(w6[k]);
                c60 = Vector512.FusedMultiplyAdd(b6, x0, c60);
                if (TV.Count > 1) { c61 = Vector512.FusedMultiplyAdd(b6, x1, c61); }
                if (TV.Count > 2) { c62 = Vector512.FusedMultiplyAdd(b6, x2, c62); }
                var b7 = Vector512.Create(w7[k]);
                c70 = Vector512.FusedMultiplyAdd(b7, x0, c70);
                if (TV.Count > 1) { c71 = Vector512.FusedMultiplyAdd(b7, x1, c71); }
                if (TV.Count > 2) { c72 = Vector512.FusedMultiplyAdd(b7, x2, c72); }
        }

        c00.Store(c + 0 * ld);
        if (TV.Count > 1) { c01.Store(c + 0 * ld + 16); }
        if (TV.Count > 2) { c02.Store(c + 0 * ld + 32); }
        c10.Store(c + 1 * ld);
        if (TV.Count > 1) { c11.Store(c + 1 * ld + 16); }
        if (TV.Count > 2) { c12.Store(c + 1 * ld + 32); }
        c20.Store(c + 2 * ld);
        if (TV.Count > 1) { c21.Store(c + 2 * ld + 16); }
        if (TV.Count > 2) { c22.Store(c + 2 * ld + 32); }
        c30.Store(c + 3 * ld);
        if (TV.Count > 1) { c31.Store(c + 3 * ld + 16); }
        if (TV.Count > 2) { c32.Store(c + 3 * ld + 32); }
        c40.Store(c + 4 * ld);
        if (TV.Count > 1) { c41.Store(c + 4 * ld + 16); }
        if (TV.Count > 2) { c42.Store(c + 4 * ld + 32); }
        c50.Store(c + 5 * ld);
        if (TV.Count > 1) { c51.Store(c + 5 * ld + 16); }
        if (TV.Count > 2) { c52.Store(c + 5 * ld + 32); }
        c60.Store(c + 6 * ld);
        if (TV.Count > 1) { c61.Store(c + 6 * ld + 16); }
        if (TV.Count > 2) { c62.Store(c + 6 * ld + 32); }
        c70.Store(c + 7 * ld);
        if (TV.Count > 1) { c71.Store(c + 7 * ld + 16); }
        if (TV.Count > 2) { c72.Store(c + 7 * ld + 32); }
    }
}
