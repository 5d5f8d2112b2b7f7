using Accel.Errors;
using Accel.Graph;

namespace Accel.Backends.Reference;

/// <summary>
/// The executable specification of every op (moe-spec section 5): plain loops over spans,
/// fp32 values with fp64 accumulation, deterministic, every index bounds-checked by the runtime.
/// </summary>
public static partial class ReferenceOps
{
    /// <summary>OP-1: y = w * x / sqrt(mean(x^2) + eps), per row of width <paramref name="d"/>.</summary>
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, int d, float eps)
    {
        int rows = d == 0 ? 0 : x.Length / d;
        for (int r = 0; r < rows; r++)
        {
            double ss = 0;
            for (int i = 0; i < d; i++) { ss += (double)x[r * d + i] * x[r * d + i]; }
            double inv = 1.0 / Math.Sqrt(ss / d + eps);
            for (int i = 0; i < d; i++) { y[r * d + i] = (float)(w[i] * (x[r * d + i] * inv)); }
        }
    }

    /// <summary>OP-2: z[r, e] = sum_d x[r, d] * W[e, d], fp64 accumulation.</summary>
    public static void RouterGemm(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> z, int d, int experts)
    {
        int rows = d == 0 ? z.Length / Math.Max(experts, 1) : x.Length / d;
        for (int r = 0; r < rows; r++)
        {
            for (int e = 0; e < experts; e++)
            {
                double acc = 0;
                for (int i = 0; i < d; i++) { acc += (double)x[r * d + i] * w[e * d + i]; }
                z[r * experts + e] = (float)acc;
            }
        }
    }

    /// <summary>OP-3: softmax (max-subtracted), sigmoid, or sqrt(softplus) with softplus(z) = z above 20.</summary>
    public static void RouterScore(ReadOnlySpan<float> z, Span<float> p, int experts, ScoreFunc func)
    {
        int rows = z.Length / experts;
        for (int r = 0; r < rows; r++)
        {
            var zr = z.Slice(r * experts, experts);
            var pr = p.Slice(r * experts, experts);
            switch (func)
            {
                case ScoreFunc.Softmax:
                    {
                        float max = float.NegativeInfinity;
                        foreach (float v in zr) { max = Math.Max(max, v); }
                        double sum = 0;
                        for (int e = 0; e < experts; e++) { sum += Math.Exp(zr[e] - max); }
                        for (int e = 0; e < experts; e++) { pr[e] = (float)(Math.Exp(zr[e] - max) / sum); }
                        break;
                    }

                case ScoreFunc.Sigmoid:
                    for (int e = 0; e < experts; e++) { pr[e] = (float)(1.0 / (1.0 + Math.Exp(-zr[e]))); }
                    break;
                case ScoreFunc.SqrtSoftplus:
                    for (int e = 0; e < experts; e++)
                    {
                        double v = zr[e];
                        pr[e] = (float)Math.Sqrt(v > 20 ? v : Math.Log(1.0 + Math.Exp(v)));
                    }

                    break;
            }
        }
    }

    /// <summary>OP-4: q = p + b.</summary>
    public static void SelectionBias(ReadOnlySpan<float> p, ReadOnlySpan<float> b, Span<float> q, int experts)
    {
        for (int i = 0; i < p.Length; i++) { q[i] = p[i] + b[i % experts]; }
    }

    /// <summary>OP-5: keeps the <paramref name="topGroups"/> best groups (ties to the smaller group) and sets the rest to -inf.</summary>
    public static void GroupLimitMask(ReadOnlySpan<float> q, Span<float> result, int experts, int groups, int topGroups, GroupScore score)
    {
        int per = experts / groups;
        int rows = q.Length / experts;
        Span<float> gs = stackalloc float[groups];
        Span<bool> keep = stackalloc bool[groups];
        for (int r = 0; r < rows; r++)
        {
            var qr = q.Slice(r * experts, experts);
            for (int g = 0; g < groups; g++)
            {
                float best = float.NegativeInfinity, second = float.NegativeInfinity;
                for (int i = 0; i < per; i++)
                {
                    float v = qr[g * per + i];
                    if (v > best) { second = best; best = v; }
                    else if (v > second) { second = v; }
                }

                gs[g] = score == GroupScore.Max ? best : best + second;
            }

            keep.Clear();
            for (int n = 0; n < topGroups; n++)
            {
                int arg = -1;
                for (int g = 0; g < groups; g++)
                {
                    if (!keep[g] && (arg < 0 || gs[g] > gs[arg])) { arg = g; }
                }

                keep[arg] = true;
            }

            for (int e = 0; e < experts; e++)
            {
                result[r * experts + e] = keep[e / per] ? qr[e] : float.NegativeInfinity;
            }
        }
    }

    /// <summary>OP-6: indices of the K largest values, descending; ties go to the smaller index.</summary>
    public static void TopK(ReadOnlySpan<float> q, Span<int> idx, int experts, int k)
    {
        int rows = q.Length / experts;
        Span<bool> taken = experts <= 1024 ? stackalloc bool[experts] : new bool[experts];
        for (int r = 0; r < rows; r++)
        {
            var qr = q.Slice(r * experts, experts);
            taken.Clear();
            for (int j = 0; j < k; j++)
            {
                int arg = -1;
                for (int e = 0; e < experts; e++)
                {
                    if (!taken[e] && (arg < 0 || qr[e] > qr[arg])) { arg = e; }
                }

                taken[arg] = true;
                idx[r * k + j] = arg;
            }
        }
    }

    /// <summary>OP-7: idx[t, :] = table[token_id[t], :], with every id and entry checked.</summary>
    public static void HashRoute(ReadOnlySpan<int> tokenIds, ReadOnlySpan<int> table, Span<int> idx, int k, int experts)
    {
        int vocab = table.Length / k;
        for (int t = 0; t < tokenIds.Length; t++)
        {
            int id = tokenIds[t];
            if (id < 0 || id >= vocab)
            {
                throw new InvalidInputException(
                    $"Token id {id} at position {t} is outside the hash table (0..{vocab - 1}); check the token ids against the checkpoint's vocabulary.");
            }

            for (int j = 0; j < k; j++)
            {
                int e = table[id * k + j];
                if (e < 0 || e >= experts)
                {
                    throw new InvalidInputException($"tid2eid[{id}, {j}] = {e} is not an expert id (0..{experts - 1}).");
                }

                for (int i = 0; i < j; i++)
                {
                    if (idx[t * k + i] == e)
                    {
                        throw new InvalidInputException($"tid2eid row {id} names expert {e} twice; each row needs {k} distinct experts.");
                    }
                }

                idx[t * k + j] = e;
            }
        }
    }

    /// <summary>OP-8: w = p[t, idx]; optionally w / (sum + eps); then times <paramref name="scale"/>.</summary>
    public static void RouteWeights(ReadOnlySpan<float> p, ReadOnlySpan<int> idx, Span<float> w, int experts, int k,
        bool normalize, float scale, float eps)
    {
        int rows = k == 0 ? 0 : idx.Length / k;
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int j = 0; j < k; j++) { sum += p[r * experts + CheckExpert(idx[r * k + j], experts)]; }
            for (int j = 0; j < k; j++)
            {
                double v = p[r * experts + idx[r * k + j]];
                if (normalize) { v /= sum + eps; }
                w[r * k + j] = (float)(v * scale);
            }
        }
    }

    private static int CheckExpert(int e, int experts) => e >= 0 && e < experts
        ? e
        : throw new InvalidInputException($"Expert id {e} is outside 0..{experts - 1}.");
}
