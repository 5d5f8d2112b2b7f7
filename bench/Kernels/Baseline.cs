using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Accel.Backends.Cpu.Kernels;

namespace Accel.KernelBench;

/// <summary>
/// The C# AVX-512 reference point: bf16 weights widened to fp32 in registers (zero-extend, shift
/// left 16: exact) and FMAed with fp32 activations, as the backend's DotKernel does.
/// </summary>
internal static unsafe class Baseline
{
    /// <summary>tile[n] = sum_k x[k] * W[n, k]: bf16 widened to fp32 in registers, 4 FMA accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WidenFma(float* x, WeightRows4* w, int k, float* tile, nint prefetch)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        ushort* r0 = (ushort*)w->R0, r1 = (ushort*)w->R1, r2 = (ushort*)w->R2, r3 = (ushort*)w->R3;
        for (int i = 0; i < k; i += 16)
        {
            if (prefetch != 0)
            {
                Sse.Prefetch0((byte*)(r0 + i) + prefetch);
                Sse.Prefetch0((byte*)(r1 + i) + prefetch);
                Sse.Prefetch0((byte*)(r2 + i) + prefetch);
                Sse.Prefetch0((byte*)(r3 + i) + prefetch);
            }

            var xv = Vector512.Load(x + i);
            a0 = Vector512.FusedMultiplyAdd(xv, Widen(r0 + i), a0);
            a1 = Vector512.FusedMultiplyAdd(xv, Widen(r1 + i), a1);
            a2 = Vector512.FusedMultiplyAdd(xv, Widen(r2 + i), a2);
            a3 = Vector512.FusedMultiplyAdd(xv, Widen(r3 + i), a3);
        }

        Store4(tile, a0, a1, a2, a3);
    }

    /// <summary>tile[r * 4 + n] = sum_k x[r, k] * W[n, k] for 4 rows of x (stride k), 16 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WidenFma4(float* x, WeightRows4* w, int k, float* tile, nint prefetch)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        ushort* r0 = (ushort*)w->R0, r1 = (ushort*)w->R1, r2 = (ushort*)w->R2, r3 = (ushort*)w->R3;
        for (int i = 0; i < k; i += 16)
        {
            if (prefetch != 0)
            {
                Sse.Prefetch0((byte*)(r0 + i) + prefetch);
                Sse.Prefetch0((byte*)(r1 + i) + prefetch);
                Sse.Prefetch0((byte*)(r2 + i) + prefetch);
                Sse.Prefetch0((byte*)(r3 + i) + prefetch);
            }

            var w0 = Widen(r0 + i);
            var w1 = Widen(r1 + i);
            var w2 = Widen(r2 + i);
            var w3 = Widen(r3 + i);
            var x0 = Vector512.Load(x + i);
            a00 = Vector512.FusedMultiplyAdd(x0, w0, a00);
            a01 = Vector512.FusedMultiplyAdd(x0, w1, a01);
            a02 = Vector512.FusedMultiplyAdd(x0, w2, a02);
            a03 = Vector512.FusedMultiplyAdd(x0, w3, a03);
            var x1 = Vector512.Load(x + k + i);
            a10 = Vector512.FusedMultiplyAdd(x1, w0, a10);
            a11 = Vector512.FusedMultiplyAdd(x1, w1, a11);
            a12 = Vector512.FusedMultiplyAdd(x1, w2, a12);
            a13 = Vector512.FusedMultiplyAdd(x1, w3, a13);
            var x2 = Vector512.Load(x + 2 * k + i);
            a20 = Vector512.FusedMultiplyAdd(x2, w0, a20);
            a21 = Vector512.FusedMultiplyAdd(x2, w1, a21);
            a22 = Vector512.FusedMultiplyAdd(x2, w2, a22);
            a23 = Vector512.FusedMultiplyAdd(x2, w3, a23);
            var x3 = Vector512.Load(x + 3 * k + i);
            a30 = Vector512.FusedMultiplyAdd(x3, w0, a30);
            a31 = Vector512.FusedMultiplyAdd(x3, w1, a31);
            a32 = Vector512.FusedMultiplyAdd(x3, w2, a32);
            a33 = Vector512.FusedMultiplyAdd(x3, w3, a33);
        }

        Store4(tile, a00, a01, a02, a03);
        Store4(tile + 4, a10, a11, a12, a13);
        Store4(tile + 8, a20, a21, a22, a23);
        Store4(tile + 12, a30, a31, a32, a33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(
        float* tile, Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        tile[0] = Vector512.Sum(a);
        tile[1] = Vector512.Sum(b);
        tile[2] = Vector512.Sum(c);
        tile[3] = Vector512.Sum(d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Widen(ushort* p) =>
        Vector512.ShiftLeft(Avx512F.ConvertToVector512UInt32(Vector256.Load(p)), 16).AsSingle();
}
