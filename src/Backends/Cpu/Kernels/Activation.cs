using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>SwiGLU, scalar (for GEMM epilogues) and vectorised over rows (for the SwiGlu op).</summary>
internal static unsafe class Activation
{
    /// <summary>silu(min(g, L)) * clamp(u, -L, L); no clamp when <paramref name="limit"/> is NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SwiGlu(float g, float u, float limit)
    {
        if (!float.IsNaN(limit))
        {
            g = Math.Min(g, limit);
            u = Math.Clamp(u, -limit, limit);
        }

        return g / (1f + MathF.Exp(-g)) * u;
    }

    /// <summary>The vector form of <see cref="SwiGlu(float, float, float)"/> (16 lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SwiGlu(Vector512<float> g, Vector512<float> u, float limit)
    {
        if (!float.IsNaN(limit))
        {
            var l = Vector512.Create(limit);
            g = Vector512.Min(g, l);
            u = Vector512.Max(Vector512.Min(u, l), -l);
        }

        return g / (Vector512<float>.One + Exp(-g)) * u;
    }

    /// <summary>
    /// e^x for 16 lanes, within about 2 units in the last place of fp32 (the runtime's
    /// <c>Vector512.Exp</c> is several times slower). x = n ln2 + r with n = round(x / ln2) and
    /// ln2 split in two so r is exact; e^r by its degree-7 Taylor polynomial on |r| &lt;= ln2/2; the
    /// result scaled by 2^n. Inputs are clamped to [-104, 89]: below, the result is 0 (or a
    /// denormal), above +inf as in scalar exp; NaN stays NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var c = Vector512.Min(Vector512.Max(x, Vector512.Create(-104f)), Vector512.Create(89f));
        var n = Vector512.Round(c * Vector512.Create(1.44269504f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), c);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1f / 5040);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        var e = Avx512F.Scale(p, n);
        // NaN compares false both ways, so the clamp above let it through; keep it NaN.
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), e, x);
    }

    /// <summary>a[i] = SwiGlu(g[i], u[i]) * scale for <paramref name="n"/> elements (portable vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SwiGluRow(float* g, float* u, float* a, int n, float limit, float scale)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated && Avx512F.IsSupported)
        {
            // The same activation arithmetic as the fused GEMM epilogue; the products before it still
            // round differently fused and unfused, so the two agree to rounding, not bit for bit.
            var s = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16)
            {
                (SwiGlu(Vector512.Load(g + i), Vector512.Load(u + i), limit) * s).Store(a + i);
            }
        }
        else if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            bool clamp = !float.IsNaN(limit);
            var lim = new Vector<float>(clamp ? limit : 0f);
            var one = Vector<float>.One;
            var s = new Vector<float>(scale);
            for (; i + w <= n; i += w)
            {
                var gv = Vector.Load(g + i);
                var uv = Vector.Load(u + i);
                if (clamp)
                {
                    gv = Vector.Min(gv, lim);
                    uv = Vector.Max(Vector.Min(uv, lim), -lim);
                }

                var silu = gv / (one + Vector.Exp(-gv));
                Vector.Store(silu * uv * s, a + i);
            }
        }

        for (; i < n; i++)
        {
            a[i] = SwiGlu(g[i], u[i], limit) * scale;
        }
    }
}
