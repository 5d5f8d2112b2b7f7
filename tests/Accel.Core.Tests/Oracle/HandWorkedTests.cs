using Accel.Graph;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Oracle;

/// <summary>
/// Tiny layers (D = 1, I = 1, x = [1]) whose routing and output are worked out by hand in the
/// comments. Each case checks the oracle against the hand values, then the runtime against both.
/// silu(z) = z / (1 + e^-z): silu(1) = 0.7310585786300049, silu(10) = 9.999546021312976,
/// silu(-15) = -4.588533403884371e-6.
/// </summary>
public sealed class HandWorkedTests
{
    private const double Silu1 = 0.7310585786300049;

    public sealed record HandCase(string Name, MoeConfig Config, Dictionary<string, HostTensor> Tensors,
        int[] Experts, double[] Weights, double Output)
    {
        public override string ToString() => Name;
    }

    private static HostTensor T(params float[] v) => HostTensor.FromF32(new Shape(v.Length, 1), v);

    private static HostTensor Vec(params float[] v) => HostTensor.FromF32(new Shape(v.Length), v);

    /// <summary>Adds expert <paramref name="e"/> with scalar gate, up and down weights.</summary>
    private static void Expert(Dictionary<string, HostTensor> t, string prefix, string e, float gate, float up, float down,
        bool mixtral = false)
    {
        t[$"{prefix}{e}.{(mixtral ? "w1" : "gate_proj")}.weight"] = T(gate);
        t[$"{prefix}{e}.{(mixtral ? "w3" : "up_proj")}.weight"] = T(up);
        t[$"{prefix}{e}.{(mixtral ? "w2" : "down_proj")}.weight"] = T(down);
    }

    private static readonly float Ln2 = MathF.Log(2), Ln3 = MathF.Log(3);

    /// <summary>
    /// Mixtral, E = 3, K = 2. Logits [0, ln 2, ln 3] give softmax p = [1/6, 2/6, 3/6]; the top 2 are
    /// experts 2 and 1, renormalised: 0.5 / (5/6) = 0.6 and (1/3) / (5/6) = 0.4. Each expert is
    /// silu(1 * 1) * 1 * down, down = [100, 10, 1]: out = 0.6 * silu(1) * 1 + 0.4 * silu(1) * 10
    /// = 4.6 * silu(1) = 3.3628694616980224.
    /// </summary>
    private static HandCase SoftmaxTop2Renormalised()
    {
        var c = new MoeConfig
        {
            Family = MoeFamily.Mixtral, Hidden = 1, Experts = 3, TopK = 2, ExpertWidth = 1, Score = ScoreFunc.Softmax,
            Normalize = true, NormEpsilon = 0, Layers = 1,
        };
        const string p = "model.layers.0.block_sparse_moe.";
        var t = new Dictionary<string, HostTensor> { [p + "gate.weight"] = T(0, Ln2, Ln3) };
        Expert(t, p + "experts.", "0", 1, 1, 100, mixtral: true);
        Expert(t, p + "experts.", "1", 1, 1, 10, mixtral: true);
        Expert(t, p + "experts.", "2", 1, 1, 1, mixtral: true);
        return new HandCase("mixtral softmax top-2 renormalised", c, t, [1, 2], [0.4, 0.6], 4.6 * Silu1);
    }

    /// <summary>
    /// Qwen2-MoE, norm_topk_prob false: same router as above, raw weights p1 = 1/3, p2 = 1/2 (no
    /// renormalisation). down = [1, 10, 100]: routed = silu(1) * (10/3 + 50). Shared expert
    /// silu(1) * 1 * 4, gated by sigmoid(x * 0) = 0.5: + 2 silu(1). Total = silu(1) * 166/3 = 40.45190801752694.
    /// </summary>
    private static HandCase QwenRawWeightsWithGatedShared()
    {
        var c = new MoeConfig
        {
            Family = MoeFamily.Qwen2Moe, Hidden = 1, Experts = 3, TopK = 2, ExpertWidth = 1, SharedWidth = 1,
            SharedExpertGate = true, Score = ScoreFunc.Softmax, Normalize = false, NormEpsilon = 0, Layers = 1,
        };
        const string p = "model.layers.0.mlp.";
        var t = new Dictionary<string, HostTensor>
        {
            [p + "gate.weight"] = T(0, Ln2, Ln3),
            [p + "shared_expert_gate.weight"] = HostTensor.FromF32(new Shape(1, 1), [0f]),
        };
        Expert(t, p + "experts.", "0", 1, 1, 1);
        Expert(t, p + "experts.", "1", 1, 1, 10);
        Expert(t, p + "experts.", "2", 1, 1, 100);
        Expert(t, p, "shared_expert", 1, 1, 4);
        return new HandCase("qwen2 raw top-2 weights and gated shared expert", c, t, [1, 2], [1.0 / 3, 0.5], Silu1 * 166 / 3);
    }

    /// <summary>
    /// DeepSeek-V4 scored layer, E = 3, K = 2, s = 1.5, clamp 10. Logits [36, 0, -1]:
    /// p0 = sqrt(36) = 6 (36 > 20, so softplus(z) = z), p1 = sqrt(ln 2) = 0.8325546111576977,
    /// p2 = sqrt(ln(1 + e^-1)) = 0.5596978537731075. Bias [-0.5, -0.1, +0.4] gives selection scores
    /// [5.5, 0.7326, 0.9597], so experts {0, 2} win although p1 > p2; weights use p without bias:
    /// w0 = 1.5 * 6 / 6.5596978537731075 = 1.372014412953981, w2 = 1.5 * p2 / 6.5597 = 0.1279855870460189.
    /// Expert 0 (gate 20, up -30, down 0.5) hits the clamp: g = min(20, 10) = 10, u = clamp(-30) = -10,
    /// a = silu(10) * -10 = -99.99546021312977, times w0 before the down projection.
    /// Expert 2 (gate 1, up 2, down 1): w2 * silu(1) * 2. The shared expert (gate -15, up 12, down 1000)
    /// has no lower gate bound: silu(-15) * clamp(12) * 1000 = -0.045885334038843706.
    /// out = 0.5 * w0 * a + w2 * 2 silu(1) - 0.0458853 = -68.45636173252707.
    /// </summary>
    private static HandCase SqrtSoftplusAboveTwentyWithClamp()
    {
        var c = MoePresets.DeepSeekV4Tiny with
        {
            Hidden = 1, Experts = 3, TopK = 2, ExpertWidth = 1, SharedWidth = 1, HashLayers = 0, Vocab = 0, Layers = 1,
        };
        const string p = "model.layers.0.mlp.";
        var t = new Dictionary<string, HostTensor>
        {
            [p + "gate.weight"] = T(36, 0, -1),
            [p + "gate.e_score_correction_bias"] = Vec(-0.5f, -0.1f, 0.4f),
        };
        Expert(t, p + "experts.", "0", 20, -30, 0.5f);
        Expert(t, p + "experts.", "1", 1, 1, 1000);
        Expert(t, p + "experts.", "2", 1, 2, 1);
        Expert(t, p, "shared_experts", -15, 12, 1000);
        return new HandCase("v4 sqrt-softplus above 20, negative bias, clamp hit", c, t, [0, 2],
            [1.372014412953981, 0.1279855870460189], -68.45636173252707);
    }

    /// <summary>
    /// DeepSeek-V3, E = 4 in G = 2 groups ({0, 1}, {2, 3}), keep 1 group, K = 2, sigmoid, s = 2.5.
    /// Logits [2, -2, 1, 0]: p = [0.8808, 0.1192, 0.7311, 0.5]; bias -0.1 everywhere gives
    /// q = [0.7808, 0.0192, 0.6311, 0.4]. Top-2-sum group scores: g0 = 0.8, g1 = 1.0311, so group 1 is
    /// kept and the best single expert (0, q = 0.7808) is masked; a max group score would have kept
    /// group 0. Experts {2, 3}: w = 2.5 * [0.7311, 0.5] / 1.2311 = [1.4846137123782737, 1.0153862876217266].
    /// Each expert is silu(1) * down, down = 10^e; shared silu(1).
    /// out = silu(1) * (100 w2 + 1000 w3 + 1) = 851.5718738063543.
    /// </summary>
    private static HandCase GroupLimitMasksTheBestExpert()
    {
        var c = new MoeConfig
        {
            Family = MoeFamily.DeepSeekV3, Hidden = 1, Experts = 4, TopK = 2, ExpertWidth = 1, SharedWidth = 1,
            Score = ScoreFunc.Sigmoid, Groups = 2, TopGroups = 1, Normalize = true, RouteScale = 2.5f, SelectionBias = true,
            Layers = 1,
        };
        const string p = "model.layers.0.mlp.";
        var t = new Dictionary<string, HostTensor>
        {
            [p + "gate.weight"] = T(2, -2, 1, 0),
            [p + "gate.e_score_correction_bias"] = Vec(-0.1f, -0.1f, -0.1f, -0.1f),
        };
        for (int e = 0; e < 4; e++) { Expert(t, p + "experts.", $"{e}", 1, 1, MathF.Pow(10, e)); }
        Expert(t, p, "shared_experts", 1, 1, 1);
        return new HandCase("v3 group limit masks the best expert", c, t, [2, 3],
            [1.4846137123782737, 1.0153862876217266], 851.5718738063543);
    }

    public static IEnumerable<HandCase> Cases()
    {
        yield return SoftmaxTop2Renormalised();
        yield return QwenRawWeightsWithGatedShared();
        yield return SqrtSoftplusAboveTwentyWithClamp();
        yield return GroupLimitMasksTheBestExpert();
    }

    private static readonly HostTensor One = HostTensor.FromF32(new Shape(1, 1), [1f]);

    [TestCaseSource(nameof(Cases))]
    public void Oracle_matches_the_hand_worked_values(HandCase c)
    {
        var r = new OracleMoe(c.Config, 0, c.Tensors).Run(One);
        Assert.That(r.Routing[0].Experts, Is.EqualTo(c.Experts));
        Assert.That(r.Routing[0].Weights, Is.EqualTo(c.Weights).Within(1e-6));
        Assert.That(r.Output[0][0], Is.EqualTo(c.Output).Within(1e-6 * Math.Abs(c.Output)));
    }

    [TestCaseSource(nameof(Cases))]
    public void Runtime_matches_the_hand_worked_values(HandCase c)
    {
        var r = OracleAssert.RunLayer(c.Config, 0, c.Tensors, One);
        Assert.That(r.TopkIds.AsSpan<int>().ToArray(), Is.EqualTo(c.Experts));
        Assert.That(r.TopkWeights.AsSpan<float>().ToArray(), Is.EqualTo(c.Weights).Within(1e-6));
        Assert.That(r.Output.AsSpan<float>()[0], Is.EqualTo(c.Output).Within(1e-6 * Math.Abs(c.Output)));
    }

    [Test]
    public void Oracle_counts_the_clamp_hits_and_the_logit_above_twenty()
    {
        var c = SqrtSoftplusAboveTwentyWithClamp();
        var r = new OracleMoe(c.Config, 0, c.Tensors).Run(One);
        // Expert 0: gate 20 > 10 and |up| = 30 > 10; shared: |up| = 12 > 10 (its gate -15 is not clamped).
        Assert.That(r.ClampHits, Is.EqualTo(3));
        Assert.That(r.MaxLogit, Is.EqualTo(36));
    }
}
