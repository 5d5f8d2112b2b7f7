using Accel.Backends.Cpu.Kernels;
using Accel.Errors;
using Accel.Graph;
using Accel.Types;

namespace Accel.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>OP-1: y = w * x / sqrt(mean(x^2) + eps), the sum of squares in fp64.</summary>
    private static void RmsNorm(CpuBuffer x, CpuBuffer weight, CpuBuffer y, float eps)
    {
        int d = x.Dim(1), rows = x.Dim(0);
        Span<float> wv = d <= 8192 ? stackalloc float[d] : new float[d];
        new WeightMatrix(weight.Pointer, null, WeightMatrix.FormatOf(weight.Desc.Type, null), 1, 1, d, false).DequantRow(0, 0, wv);
        for (int r = 0; r < rows; r++)
        {
            float* xr = x.F32 + (long)r * d, yr = y.F32 + (long)r * d;
            double ss = 0;
            for (int i = 0; i < d; i++) { ss += (double)xr[i] * xr[i]; }
            double inv = 1.0 / Math.Sqrt(ss / d + eps);
            for (int i = 0; i < d; i++) { yr[i] = (float)(wv[i] * (xr[i] * inv)); }
        }
    }

    /// <summary>OP-3: softmax, sigmoid or sqrt(softplus), in fp64 like the reference, rows in parallel.</summary>
    private void RouterScore(CpuBuffer z, CpuBuffer p, ScoreFunc func)
    {
        int rows = z.Dim(0), experts = z.Dim(1);
        var job = _range.For(rows, 32, &ScoreRows);
        job.P0 = z.F32;
        job.P1 = p.F32;
        job.I0 = experts;
        job.I1 = (int)func;
        _pool.Run(job);
    }

    private static void ScoreRows(RangeJob j, int begin, int end)
    {
        int experts = j.I0;
        var func = (ScoreFunc)j.I1;
        for (int r = begin; r < end; r++)
        {
            float* zr = (float*)j.P0 + (long)r * experts, pr = (float*)j.P1 + (long)r * experts;
            switch (func)
            {
                case ScoreFunc.Softmax:
                    {
                        float max = float.NegativeInfinity;
                        for (int e = 0; e < experts; e++) { max = Math.Max(max, zr[e]); }
                        double sum = 0;
                        for (int e = 0; e < experts; e++) { sum += Math.Exp(zr[e] - max); }
                        for (int e = 0; e < experts; e++) { pr[e] = (float)(Math.Exp(zr[e] - max) / sum); }
                        break;
                    }

                case ScoreFunc.Sigmoid:
                    for (int e = 0; e < experts; e++) { pr[e] = (float)(1.0 / (1.0 + Math.Exp(-zr[e]))); }
                    break;
                default:
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
    private static void SelectionBias(CpuBuffer p, CpuBuffer b, CpuBuffer q)
    {
        int experts = p.Dim(1);
        long n = (long)p.Dim(0) * experts;
        for (long i = 0; i < n; i++) { q.F32[i] = p.F32[i] + b.F32[i % experts]; }
    }

    /// <summary>OP-5: keep the best groups (ties to the smaller group), the rest become -inf.</summary>
    private static void GroupLimitMask(CpuBuffer q, CpuBuffer result, GroupLimitAttributes a)
    {
        int rows = q.Dim(0), experts = q.Dim(1), groups = a.Groups, per = experts / groups;
        Span<float> gs = groups <= 1024 ? stackalloc float[groups] : new float[groups];
        Span<bool> keep = groups <= 1024 ? stackalloc bool[groups] : new bool[groups];
        for (int r = 0; r < rows; r++)
        {
            float* qr = q.F32 + (long)r * experts, outRow = result.F32 + (long)r * experts;
            for (int g = 0; g < groups; g++)
            {
                float best = float.NegativeInfinity, second = float.NegativeInfinity;
                for (int i = 0; i < per; i++)
                {
                    float v = qr[g * per + i];
                    if (v > best) { second = best; best = v; }
                    else if (v > second) { second = v; }
                }

                gs[g] = a.Score == GroupScore.Max ? best : best + second;
            }

            keep.Clear();
            for (int n = 0; n < a.TopGroups; n++)
            {
                int arg = -1;
                for (int g = 0; g < groups; g++)
                {
                    if (!keep[g] && (arg < 0 || gs[g] > gs[arg])) { arg = g; }
                }

                keep[arg] = true;
            }

            for (int e = 0; e < experts; e++) { outRow[e] = keep[e / per] ? qr[e] : float.NegativeInfinity; }
        }
    }

    /// <summary>OP-6: the K largest, descending, ties to the smaller expert index.</summary>
    private static void TopK(CpuBuffer q, CpuBuffer idx, int k)
    {
        int rows = q.Dim(0), experts = q.Dim(1);
        Span<bool> taken = experts <= 4096 ? stackalloc bool[experts] : new bool[experts];
        for (int r = 0; r < rows; r++)
        {
            float* qr = q.F32 + (long)r * experts;
            taken.Clear();
            for (int j = 0; j < k; j++)
            {
                int arg = -1;
                for (int e = 0; e < experts; e++)
                {
                    if (!taken[e] && (arg < 0 || qr[e] > qr[arg])) { arg = e; }
                }

                taken[arg] = true;
                idx.I32[(long)r * k + j] = arg;
            }
        }
    }

    /// <summary>OP-7: idx[t, :] = table[token_id[t], :], every id and entry checked.</summary>
    private static void HashRoute(CpuBuffer tokenIds, CpuBuffer table, CpuBuffer idx, int experts)
    {
        int tokens = tokenIds.Dim(0), vocab = table.Dim(0), k = table.Dim(1);
        for (int t = 0; t < tokens; t++)
        {
            int id = tokenIds.I32[t];
            if (id < 0 || id >= vocab)
            {
                throw new InvalidInputException(
                    $"Token id {id} at position {t} is outside the hash table (0..{vocab - 1}); check the token ids against the checkpoint's vocabulary.");
            }

            for (int j = 0; j < k; j++)
            {
                int e = table.I32[(long)id * k + j];
                if (e < 0 || e >= experts)
                {
                    throw new InvalidInputException($"tid2eid[{id}, {j}] = {e} is not an expert id (0..{experts - 1}).");
                }

                for (int i = 0; i < j; i++)
                {
                    if (idx.I32[(long)t * k + i] == e)
                    {
                        throw new InvalidInputException($"tid2eid row {id} names expert {e} twice; each row needs {k} distinct experts.");
                    }
                }

                idx.I32[(long)t * k + j] = e;
            }
        }
    }

    /// <summary>OP-8: gather, optionally renormalise (fp64 sum), then scale.</summary>
    private static void RouteWeights(CpuBuffer p, CpuBuffer idx, CpuBuffer w, RouteWeightsAttributes a)
    {
        int rows = idx.Dim(0), k = idx.Dim(1), experts = p.Dim(1);
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int j = 0; j < k; j++) { sum += p.F32[(long)r * experts + CheckExpert(idx.I32[(long)r * k + j], experts)]; }
            for (int j = 0; j < k; j++)
            {
                double v = p.F32[(long)r * experts + idx.I32[(long)r * k + j]];
                if (a.Normalize) { v /= sum + a.Epsilon; }
                w.F32[(long)r * k + j] = (float)(v * a.Scale);
            }
        }
    }

    private static int CheckExpert(int e, int experts) => e >= 0 && e < experts
        ? e
        : throw new InvalidInputException($"Expert id {e} is outside 0..{experts - 1}.");
}
