using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Accel.Backends.Cpu.Kernels;
using Accel.Graph;

namespace Accel.Backends.Cpu.Routing;

/// <summary>
/// OP-3 on one row, in fp32: softmax (max-subtracted), sigmoid, and sqrt(softplus) with
/// softplus(z) = z above 20. A row's last, partial vector runs through the same vector code on a
/// padded copy, so equal logits always get equal scores wherever they sit in the row (TopK's tie
/// rule depends on it). NaN logits give NaN scores; a NaN or +inf anywhere in a softmax row makes
/// the whole row NaN, as the max-subtracted formula does in any precision.
/// </summary>
internal static unsafe class Scores
{
    /// <summary>Scores <paramref name="n"/> logits into <paramref name="p"/>.</summary>
    public static void Row(float* z, float* p, int n, ScoreFunc func, bool wide)
    {
        switch (func)
        {
            case ScoreFunc.Softmax:
                Softmax(z, p, n, wide);
                break;
            case ScoreFunc.Sigmoid:
                Map<Sigmoid>(z, p, n, 0f, wide);
                break;
            default:
                Map<SqrtSoftplus>(z, p, n, 0f, wide);
                break;
        }
    }

    private static void Softmax(float* z, float* p, int n, bool wide)
    {
        if (n == 0)
        {
            return;
        }

        float max = RowMath.Max(z, n, wide);
        Map<ShiftedExp>(z, p, n, max, wide);
        RowMath.Scale(p, n, (float)(1.0 / RowMath.Sum(p, n, wide)), wide);
    }

    /// <summary>dst[i] = TOp(src[i] - shift) over a row, whole vectors then the padded tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Map<TOp>(float* src, float* dst, int n, float shift, bool wide) where TOp : struct, IScoreOp
    {
        int i = 0;
        if (wide)
        {
            var s = Vector512.Create(shift);
            for (; i + 16 <= n; i += 16) { TOp.Apply(Vector512.Load(src + i) - s).Store(dst + i); }
            if (i < n)
            {
                float* tail = stackalloc float[16];
                new Span<float>(tail, 16).Clear();
                Buffer.MemoryCopy(src + i, tail, 64, (n - i) * sizeof(float));
                TOp.Apply(Vector512.Load(tail) - s).Store(tail);
                Buffer.MemoryCopy(tail, dst + i, (n - i) * sizeof(float), (n - i) * sizeof(float));
            }

            return;
        }

        int w = Vector<float>.Count;
        var v = new Vector<float>(shift);
        for (; i + w <= n; i += w) { TOp.Apply(Vector.Load(src + i) - v).Store(dst + i); }
        if (i < n)
        {
            float* tail = stackalloc float[Vector<float>.Count];
            new Span<float>(tail, w).Clear();
            Buffer.MemoryCopy(src + i, tail, w * sizeof(float), (n - i) * sizeof(float));
            TOp.Apply(Vector.Load(tail) - v).Store(tail);
            Buffer.MemoryCopy(tail, dst + i, (n - i) * sizeof(float), (n - i) * sizeof(float));
        }
    }

    /// <summary>An elementwise score function in both widths.</summary>
    private interface IScoreOp
    {
        static abstract Vector512<float> Apply(Vector512<float> z);

        static abstract Vector<float> Apply(Vector<float> z);
    }

    /// <summary>e^z (softmax numerators, z already max-subtracted).</summary>
    private readonly struct ShiftedExp : IScoreOp
    {
        public static Vector512<float> Apply(Vector512<float> z) => Activation.Exp(z);

        public static Vector<float> Apply(Vector<float> z) => Vector.Exp(z);
    }

    /// <summary>1 / (1 + e^-z) as r = 1 / (1 + e) for z &gt;= 0 and e * r below, with e = e^-|z| (no overflow).</summary>
    private readonly struct Sigmoid : IScoreOp
    {
        public static Vector512<float> Apply(Vector512<float> z)
        {
            var e = Activation.Exp(-Vector512.Abs(z));
            var r = Vector512<float>.One / (Vector512<float>.One + e);
            return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(z, Vector512<float>.Zero), r, e * r);
        }

        public static Vector<float> Apply(Vector<float> z)
        {
            var e = Vector.Exp(-Vector.Abs(z));
            var r = Vector<float>.One / (Vector<float>.One + e);
            return Vector.ConditionalSelect(Vector.GreaterThanOrEqual(z, Vector<float>.Zero), r, e * r);
        }
    }

    /// <summary>sqrt(z) above 20, else sqrt(max(z, 0) + log1p(e^-|z|)) (softplus without overflow).</summary>
    private readonly struct SqrtSoftplus : IScoreOp
    {
        public static Vector512<float> Apply(Vector512<float> z)
        {
            var u = Activation.Exp(-Vector512.Abs(z));
            var s = u / (Vector512.Create(2f) + u);
            var softplus = Vector512.Max(z, Vector512<float>.Zero) + (s + s) * Log1pSeries(s * s);
            return Vector512.Sqrt(Vector512.ConditionalSelect(Vector512.GreaterThan(z, Vector512.Create(20f)), z, softplus));
        }

        public static Vector<float> Apply(Vector<float> z)
        {
            var u = Vector.Exp(-Vector.Abs(z));
            var s = u / (new Vector<float>(2f) + u);
            var softplus = Vector.Max(z, Vector<float>.Zero) + (s + s) * Log1pSeries(s * s);
            return Vector.SquareRoot(Vector.ConditionalSelect(Vector.GreaterThan(z, new Vector<float>(20f)), z, softplus));
        }

        // log1p(u) = 2 atanh(s) with s = u / (2 + u) in [0, 1/3] for u in [0, 1]; atanh(s) / s is
        // 1 + s^2/3 + s^4/5 + ... and the terms after s^14/15 add under 2e-9 relative.
        private static Vector512<float> Log1pSeries(Vector512<float> t)
        {
            var p = Vector512.Create(1f / 15);
            p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1f / 13));
            p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1f / 11));
            p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1f / 9));
            p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1f / 7));
            p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1f / 5));
            p = Vector512.FusedMultiplyAdd(p, t, Vector512.Create(1f / 3));
            return Vector512.FusedMultiplyAdd(p, t, Vector512<float>.One);
        }

        private static Vector<float> Log1pSeries(Vector<float> t)
        {
            var p = new Vector<float>(1f / 15);
            p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(1f / 13));
            p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(1f / 11));
            p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(1f / 9));
            p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(1f / 7));
            p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(1f / 5));
            p = Vector.FusedMultiplyAdd(p, t, new Vector<float>(1f / 3));
            return Vector.FusedMultiplyAdd(p, t, Vector<float>.One);
        }
    }
}
