using System.Numerics;
using System.Runtime.CompilerServices;

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
    public static System.Runtime.Intrinsics.Vector512<float> SwiGlu(System.Runtime.Intrinsics.Vector512<float> g,
        System.Runtime.Intrinsics.Vector512<float> u, float limit)
    {
        if (!float.IsNaN(limit))
        {
            var l = System.Runtime.Intrinsics.Vector512.Create(limit);
            g = System.Runtime.Intrinsics.Vector512.Min(g, l);
            u = System.Runtime.Intrinsics.Vector512.Max(System.Runtime.Intrinsics.Vector512.Min(u, l), -l);
        }

        return g / (System.Runtime.Intrinsics.Vector512<float>.One + System.Runtime.Intrinsics.Vector512.Exp(-g)) * u;
    }

    /// <summary>a[i] = SwiGlu(g[i], u[i]) * scale for <paramref name="n"/> elements (portable vectors).</summary>
    public static void SwiGluRow(float* g, float* u, float* a, int n, float limit, float scale)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
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
