using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Accel.Backends.Cpu.Routing;

/// <summary>
/// Row-wise fp32 arithmetic of the routing ops (RMS norm, selection bias, softmax's max, sum and
/// scale, the residual add), 16 lanes at a time on the AVX-512 path and
/// <see cref="Vector{T}.Count"/> on the portable path, scalar for the last partial vector (the
/// same IEEE operation per element, so the result does not depend on where an element sits).
/// </summary>
internal static unsafe class RowMath
{
    /// <summary>OP-1 on one row: y = w * x / sqrt(mean(x^2) + eps), squares summed in fp32 lanes, lanes in fp64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RmsNorm(float* x, float* w, float* y, int d, float eps, bool wide)
    {
        float inv = (float)(1.0 / Math.Sqrt(SumOfSquares(x, d, wide) / d + eps));
        int i = 0;
        if (wide)
        {
            var s = Vector512.Create(inv);
            for (; i + 16 <= d; i += 16) { (Vector512.Load(x + i) * s * Vector512.Load(w + i)).Store(y + i); }
        }
        else
        {
            var s = new Vector<float>(inv);
            for (; i + Vector<float>.Count <= d; i += Vector<float>.Count)
            {
                (Vector.Load(x + i) * s * Vector.Load(w + i)).Store(y + i);
            }
        }

        for (; i < d; i++) { y[i] = x[i] * inv * w[i]; }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double SumOfSquares(float* x, int d, bool wide)
    {
        int i = 0;
        double sum = 0;
        if (wide)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i + 64 <= d; i += 64)
            {
                var v0 = Vector512.Load(x + i);
                var v1 = Vector512.Load(x + i + 16);
                var v2 = Vector512.Load(x + i + 32);
                var v3 = Vector512.Load(x + i + 48);
                a0 = Vector512.FusedMultiplyAdd(v0, v0, a0);
                a1 = Vector512.FusedMultiplyAdd(v1, v1, a1);
                a2 = Vector512.FusedMultiplyAdd(v2, v2, a2);
                a3 = Vector512.FusedMultiplyAdd(v3, v3, a3);
            }

            for (; i + 16 <= d; i += 16)
            {
                var v = Vector512.Load(x + i);
                a0 = Vector512.FusedMultiplyAdd(v, v, a0);
            }

            sum = Lanes.Sum(a0) + Lanes.Sum(a1) + Lanes.Sum(a2) + Lanes.Sum(a3);
        }
        else
        {
            Vector<float> a0 = default, a1 = default;
            int w = Vector<float>.Count;
            for (; i + 2 * w <= d; i += 2 * w)
            {
                var v0 = Vector.Load(x + i);
                var v1 = Vector.Load(x + i + w);
                a0 = Vector.FusedMultiplyAdd(v0, v0, a0);
                a1 = Vector.FusedMultiplyAdd(v1, v1, a1);
            }

            sum = Lanes.Sum(a0) + Lanes.Sum(a1);
        }

        for (; i < d; i++) { sum += (double)x[i] * x[i]; }
        return sum;
    }

    /// <summary>c = a + b over <paramref name="n"/> elements (OP-4 per row, OP-16 per chunk).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(float* a, float* b, float* c, long n, bool wide)
    {
        long i = 0;
        if (wide)
        {
            for (; i + 16 <= n; i += 16) { (Vector512.Load(a + i) + Vector512.Load(b + i)).Store(c + i); }
        }
        else
        {
            for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
            {
                (Vector.Load(a + i) + Vector.Load(b + i)).Store(c + i);
            }
        }

        for (; i < n; i++) { c[i] = a[i] + b[i]; }
    }

    /// <summary>
    /// The largest of <paramref name="n"/> (at least one) values. With a NaN among them the result
    /// may or may not be NaN (softmax turns either into a NaN row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Max(float* x, int n, bool wide)
    {
        int i = 0;
        float m = x[0];
        if (wide && n >= 16)
        {
            var v = Vector512.Load(x);
            for (i = 16; i + 16 <= n; i += 16) { v = Vector512.MaxNative(v, Vector512.Load(x + i)); }
            m = Lanes.Max(v);
        }
        else if (!wide && n >= Vector<float>.Count)
        {
            var v = Vector.Load(x);
            for (i = Vector<float>.Count; i + Vector<float>.Count <= n; i += Vector<float>.Count)
            {
                v = Vector.MaxNative(v, Vector.Load(x + i));
            }

            m = Lanes.Max(v);
        }

        for (; i < n; i++) { m = x[i] > m ? x[i] : m; }
        return m;
    }

    /// <summary>The sum of <paramref name="n"/> values: fp32 lanes, then fp64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Sum(float* x, int n, bool wide)
    {
        int i = 0;
        double sum = 0;
        if (wide)
        {
            var a = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16) { a += Vector512.Load(x + i); }
            sum = Lanes.Sum(a);
        }
        else
        {
            var a = Vector<float>.Zero;
            for (; i + Vector<float>.Count <= n; i += Vector<float>.Count) { a += Vector.Load(x + i); }
            sum = Lanes.Sum(a);
        }

        for (; i < n; i++) { sum += x[i]; }
        return sum;
    }

    /// <summary>x *= s over <paramref name="n"/> values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale(float* x, int n, float s, bool wide)
    {
        int i = 0;
        if (wide)
        {
            var v = Vector512.Create(s);
            for (; i + 16 <= n; i += 16) { (Vector512.Load(x + i) * v).Store(x + i); }
        }
        else
        {
            var v = new Vector<float>(s);
            for (; i + Vector<float>.Count <= n; i += Vector<float>.Count) { (Vector.Load(x + i) * v).Store(x + i); }
        }

        for (; i < n; i++) { x[i] *= s; }
    }

    /// <summary>
    /// OP-8 on one row (ids already checked): w = p[ids]; with <paramref name="normalize"/> w / (sum + eps);
    /// then times <paramref name="scale"/>. K is small, so the K gathers and the sum run scalar, in fp64.
    /// </summary>
    public static void RouteWeights(float* p, int* ids, float* w, int k, bool normalize, float scale, float eps)
    {
        double sum = 0;
        for (int j = 0; j < k; j++) { sum += p[ids[j]]; }
        double divisor = normalize ? sum + eps : 1.0;
        for (int j = 0; j < k; j++) { w[j] = (float)(p[ids[j]] / divisor * scale); }
    }
}
