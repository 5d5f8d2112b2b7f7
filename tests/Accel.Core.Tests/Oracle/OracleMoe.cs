using Accel.Graph;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Oracle;

/// <summary>The oracle's routing of one token.</summary>
/// <param name="Experts">Selected experts, ascending.</param>
/// <param name="Weights">Their routing weights, in the same order.</param>
/// <param name="ExpertGap">Selection score of the K-th choice minus that of the (K+1)-th (infinite when none).</param>
/// <param name="GroupGap">Group score of the last kept group minus the best dropped one (infinite without groups).</param>
internal sealed record OracleRouting(int[] Experts, double[] Weights, double ExpertGap, double GroupGap);

/// <summary>The oracle's result for a batch.</summary>
/// <param name="Output">[T][D] routed plus shared output.</param>
/// <param name="Routing">Per token.</param>
/// <param name="ExpertTokens">Tokens routed to each expert.</param>
/// <param name="ClampHits">How many SwiGLU gate or up values the clamp changed.</param>
/// <param name="MaxLogit">The largest router logit seen.</param>
internal sealed record OracleResult(double[][] Output, OracleRouting[] Routing, int[] ExpertTokens, int ClampHits, double MaxLogit)
{
    /// <summary>True when token <paramref name="t"/>'s routing is decided by more than <paramref name="margin"/>.</summary>
    public bool Decided(int t, double margin) => Routing[t].ExpertGap > margin && Routing[t].GroupGap > margin;
}

/// <summary>
/// An independent, straight-line float64 implementation of one layer's MoE block for every
/// family (moe-spec 1.3-1.5, 2.3-2.5, 3.1, 3.2), reading the Hugging Face-named checkpoint tensors
/// and dequantising them itself. No Accel op, graph or conversion routine is used.
/// </summary>
internal sealed class OracleMoe
{
    private readonly MoeConfig _c;
    private readonly double[,] _router;
    private readonly double[]? _bias;
    private readonly int[]? _table;
    private readonly double[]? _sharedGate;
    private readonly Ffn[] _experts;
    private readonly Ffn? _shared;

    private sealed record Ffn(double[,] Gate, double[,] Up, double[,] Down);

    public OracleMoe(MoeConfig config, int layer, IReadOnlyDictionary<string, HostTensor> tensors)
    {
        _c = config;
        int d = config.Hidden, e = config.Experts, width = config.ExpertWidth;
        bool mixtral = config.Family == MoeFamily.Mixtral;
        string p = mixtral ? $"model.layers.{layer}.block_sparse_moe." : $"model.layers.{layer}.mlp.";
        _router = OracleDecode.Matrix(tensors, p + "gate.weight", e, d);
        if (layer < config.HashLayers)
        {
            _table = [.. OracleDecode.Values(tensors[p + "gate.tid2eid"]).Select(v => (int)v)];
        }
        else if (tensors.TryGetValue(p + "gate.e_score_correction_bias", out var bias))
        {
            _bias = OracleDecode.Values(bias);
        }

        string ExpertName(int n, string proj) => mixtral
            ? $"{p}experts.{n}.{proj switch { "gate" => "w1", "up" => "w3", _ => "w2" }}.weight"
            : $"{p}experts.{n}.{proj}_proj.weight";
        _experts = [.. Enumerable.Range(0, e).Select(n => new Ffn(
            OracleDecode.Matrix(tensors, ExpertName(n, "gate"), width, d),
            OracleDecode.Matrix(tensors, ExpertName(n, "up"), width, d),
            OracleDecode.Matrix(tensors, ExpertName(n, "down"), d, width)))];
        if (config.SharedWidth > 0)
        {
            string s = p + (config.Family == MoeFamily.Qwen2Moe ? "shared_expert." : "shared_experts.");
            int sw = config.SharedWidth;
            _shared = new Ffn(OracleDecode.Matrix(tensors, s + "gate_proj.weight", sw, d),
                OracleDecode.Matrix(tensors, s + "up_proj.weight", sw, d),
                OracleDecode.Matrix(tensors, s + "down_proj.weight", d, sw));
            if (config.SharedExpertGate)
            {
                _sharedGate = OracleDecode.Values(tensors[p + "shared_expert_gate.weight"]);
            }
        }
    }

    /// <summary>Runs the block on hidden states [T, D] (any plain float dtype) and optional token ids.</summary>
    public OracleResult Run(HostTensor hidden, int[]? tokenIds = null)
    {
        int tokens = (int)hidden.Shape[0], d = _c.Hidden;
        var flat = OracleDecode.Values(hidden);
        var output = new double[tokens][];
        var routing = new OracleRouting[tokens];
        var counts = new int[_c.Experts];
        int clampHits = 0;
        double maxLogit = double.NegativeInfinity;
        for (int t = 0; t < tokens; t++)
        {
            var x = flat.AsSpan(t * d, d).ToArray();
            var logits = new double[_c.Experts];
            for (int e = 0; e < _c.Experts; e++)
            {
                for (int i = 0; i < d; i++) { logits[e] += x[i] * _router[e, i]; }
                maxLogit = Math.Max(maxLogit, logits[e]);
            }

            routing[t] = Route(Score(logits), tokenIds?[t]);
            var y = new double[d];
            for (int j = 0; j < routing[t].Experts.Length; j++)
            {
                int e = routing[t].Experts[j];
                counts[e]++;
                var h = Swiglu(_experts[e], x, ref clampHits);
                for (int i = 0; i < d; i++) { y[i] += routing[t].Weights[j] * h[i]; }
            }

            if (_shared is not null)
            {
                var z = Swiglu(_shared, x, ref clampHits);
                double g = 1;
                if (_sharedGate is not null)
                {
                    double s = 0;
                    for (int i = 0; i < d; i++) { s += x[i] * _sharedGate[i]; }
                    g = Sigmoid(s);
                }

                for (int i = 0; i < d; i++) { y[i] += g * z[i]; }
            }

            output[t] = y;
        }

        return new OracleResult(output, routing, counts, clampHits, maxLogit);
    }

    private double[] Score(double[] z) => _c.Score switch
    {
        ScoreFunc.Softmax => Softmax(z),
        ScoreFunc.Sigmoid => [.. z.Select(Sigmoid)],
        // torch softplus (beta 1) returns z itself above the threshold 20.
        ScoreFunc.SqrtSoftplus => [.. z.Select(v => Math.Sqrt(v > 20 ? v : Math.Log(1 + Math.Exp(v))))],
        _ => throw new ArgumentOutOfRangeException(nameof(z)),
    };

    private OracleRouting Route(double[] p, int? tokenId)
    {
        int e = _c.Experts, k = _c.TopK;
        int[] chosen;
        double expertGap = double.PositiveInfinity, groupGap = double.PositiveInfinity;
        if (_table is not null)
        {
            int id = tokenId ?? throw new InvalidOperationException("A hash layer needs token ids.");
            chosen = _table.AsSpan(id * k, k).ToArray();
        }
        else
        {
            // Selection scores carry the bias; the weights below never do.
            var q = p.Select((v, i) => v + (_bias?[i] ?? 0)).ToArray();
            if (_c.Groups > 1 && _c.TopGroups < _c.Groups)
            {
                int per = e / _c.Groups;
                var groupScores = new double[_c.Groups];
                for (int g = 0; g < _c.Groups; g++)
                {
                    var members = q.Skip(g * per).Take(per).OrderDescending().ToArray();
                    // Top-2 sum when the router has a selection bias, max otherwise (moe-spec 1.3 step 5).
                    groupScores[g] = _bias is not null ? members[0] + members[1] : members[0];
                }

                var groupOrder = Ranked(groupScores);
                groupGap = groupScores[groupOrder[_c.TopGroups - 1]] - groupScores[groupOrder[_c.TopGroups]];
                var kept = groupOrder.Take(_c.TopGroups).ToHashSet();
                for (int i = 0; i < e; i++)
                {
                    if (!kept.Contains(i / per)) { q[i] = double.NegativeInfinity; }
                }
            }

            var order = Ranked(q);
            chosen = order.Take(k).ToArray();
            if (k < e && !double.IsNegativeInfinity(q[order[k]]))
            {
                expertGap = q[order[k - 1]] - q[order[k]];
            }
        }

        var w = chosen.Select(i => p[i]).ToArray();
        double sum = w.Sum();
        for (int j = 0; j < k; j++)
        {
            if (_c.Normalize) { w[j] /= sum + _c.NormEpsilon; }
            w[j] *= _c.RouteScale;
        }

        var sorted = chosen.Select((id, j) => (id, w: w[j])).OrderBy(a => a.id).ToArray();
        return new OracleRouting([.. sorted.Select(a => a.id)], [.. sorted.Select(a => a.w)], expertGap, groupGap);
    }

    /// <summary>SwiGLU FFN; the V4 clamp caps the gate from above only and the up value on both sides.</summary>
    private double[] Swiglu(Ffn f, double[] x, ref int clampHits)
    {
        int width = f.Gate.GetLength(0), d = x.Length;
        var a = new double[width];
        for (int r = 0; r < width; r++)
        {
            double g = 0, u = 0;
            for (int i = 0; i < d; i++)
            {
                g += f.Gate[r, i] * x[i];
                u += f.Up[r, i] * x[i];
            }

            if (_c.SwigluLimit is float limit)
            {
                if (g > limit) { g = limit; clampHits++; }
                if (Math.Abs(u) > limit) { u = Math.Sign(u) * limit; clampHits++; }
            }

            a[r] = g * Sigmoid(g) * u;
        }

        var y = new double[d];
        for (int i = 0; i < d; i++)
        {
            for (int r = 0; r < width; r++) { y[i] += f.Down[i, r] * a[r]; }
        }

        return y;
    }

    /// <summary>Indices by descending value; ties go to the smaller index.</summary>
    private static int[] Ranked(double[] v) =>
        [.. Enumerable.Range(0, v.Length).OrderByDescending(i => v[i]).ThenBy(i => i)];

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

    private static double[] Softmax(double[] z)
    {
        double max = z.Max();
        var ex = z.Select(v => Math.Exp(v - max)).ToArray();
        double sum = ex.Sum();
        return [.. ex.Select(v => v / sum)];
    }
}
