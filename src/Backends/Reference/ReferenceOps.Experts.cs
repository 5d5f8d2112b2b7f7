using Accel.Types;

namespace Accel.Backends.Reference;

public static partial class ReferenceOps
{
    /// <summary>
    /// OP-12: Yp[r] = Xp[r] * W[e]^T for every row r of expert e's segment [off[e], off[e+1]);
    /// rows past off[E] are zero. The weight is dequantised row by row.
    /// </summary>
    public static void GroupedGemm(ReadOnlySpan<float> xp, WeightView w, ReadOnlySpan<int> offsets, Span<float> yp)
    {
        int din = (int)w.In, dout = (int)w.Out;
        int rows = dout == 0 ? 0 : yp.Length / dout;
        yp.Clear();
        var wrow = new float[din];
        for (int e = 0; e < w.Experts; e++)
        {
            int begin = offsets[e], end = Math.Min(offsets[e + 1], rows);
            if (begin >= end)
            {
                continue;
            }

            for (int o = 0; o < dout; o++)
            {
                w.DequantRow(e, o, wrow);
                for (int r = begin; r < end; r++)
                {
                    double acc = 0;
                    var x = xp.Slice(r * din, din);
                    for (int i = 0; i < din; i++) { acc += (double)x[i] * wrow[i]; }
                    yp[r * dout + o] = (float)acc;
                }
            }
        }
    }

    /// <summary>Dense y = x * W^T for a single weight [out, in] (E = 1).</summary>
    public static void Linear(ReadOnlySpan<float> x, WeightView w, Span<float> y)
    {
        int rows = (int)(w.Out == 0 ? 0 : y.Length / w.Out);
        Span<int> offsets = [0, rows];
        GroupedGemm(x, w, offsets, y);
    }

    /// <summary>
    /// OP-13: g = min(gate, L), u = clamp(up, -L, L) when a limit is set; a = silu(g) * u; times
    /// the row's routing weight w[pos_to_token[r], pos_to_slot[r]] when <paramref name="weighted"/> (0 for empty rows).
    /// </summary>
    public static void SwiGlu(ReadOnlySpan<float> gate, ReadOnlySpan<float> up, Span<float> a, int width, float? limit,
        bool weighted, ReadOnlySpan<float> weights, ReadOnlySpan<int> posToToken, ReadOnlySpan<int> posToSlot, int k)
    {
        for (int i = 0; i < a.Length; i++)
        {
            double g = gate[i], u = up[i];
            if (limit is float l)
            {
                g = Math.Min(g, l);
                u = Math.Clamp(u, -l, l);
            }

            double v = g / (1.0 + Math.Exp(-g)) * u;
            if (weighted)
            {
                int r = i / width;
                int t = posToToken[r];
                v = t < 0 ? 0 : v * weights[t * k + posToSlot[r]];
            }

            a[i] = (float)v;
        }
    }

    /// <summary>
    /// OP-15: z = (silu(clamp(x W1^T)) * clamp(x W3^T)) W2^T, times sigmoid(x g^T) per row when a
    /// Qwen-style expert gate is given.
    /// </summary>
    public static void SharedExpert(ReadOnlySpan<float> x, WeightView w1, WeightView w3, WeightView w2,
        ReadOnlySpan<float> expertGate, Span<float> z, float? limit)
    {
        int d = (int)w1.In, inter = (int)w1.Out;
        int rows = d == 0 ? 0 : x.Length / d;
        var h1 = new float[rows * inter];
        var h3 = new float[rows * inter];
        var act = new float[rows * inter];
        Linear(x, w1, h1);
        Linear(x, w3, h3);
        SwiGlu(h1, h3, act, inter, limit, false, default, default, default, 0);
        Linear(act, w2, z);
        if (expertGate.IsEmpty)
        {
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            double s = 0;
            for (int i = 0; i < d; i++) { s += (double)x[r * d + i] * expertGate[i]; }
            double gate = 1.0 / (1.0 + Math.Exp(-s));
            for (int i = 0; i < (int)w2.Out; i++) { z[r * (int)w2.Out + i] = (float)(z[r * (int)w2.Out + i] * gate); }
        }
    }
}
