using Accel.Graph;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Oracle;

/// <summary>
/// The edge cases of moe-spec section 5 (oracle notes), each checked against the oracle and with
/// an assertion that the case really happens: idle experts, one expert taking every token, router
/// logits above the softplus threshold, SwiGLU clamp hits and negative selection biases.
/// </summary>
public sealed class EdgeCaseTests
{
    private static readonly MoeConfig V3 = MoePresets.DeepSeekV3Tiny;
    private static readonly MoeConfig V4 = MoePresets.DeepSeekV4Tiny;

    private static OracleResult Check(MoeConfig config, int layer, Dictionary<string, HostTensor> tensors, HostTensor x)
    {
        var ids = config.IsHashLayer(layer) ? LayerVsOracleTests.TokenIds((int)x.Shape[0], config.Vocab) : null;
        var expected = new OracleMoe(config, layer, tensors).Run(x, ids);
        OracleAssert.Agrees(OracleAssert.RunLayer(config, layer, tensors, x, ids), expected, config);
        return expected;
    }

    private static string Prefix(MoeConfig c, int layer) =>
        c.Family == MoeFamily.Mixtral ? $"model.layers.{layer}.block_sparse_moe." : $"model.layers.{layer}.mlp.";

    /// <summary>A copy of an f32 tensor with every element mapped by <paramref name="f"/> (index, value).</summary>
    private static HostTensor Map(HostTensor t, Func<int, float, float> f)
    {
        var v = t.AsSpan<float>().ToArray();
        for (int i = 0; i < v.Length; i++) { v[i] = f(i, v[i]); }
        return HostTensor.FromF32(t.Shape, v);
    }

    [TestCase(1)]
    [TestCase(3)]
    public void Experts_without_tokens_are_skipped(int tokens)
    {
        var tensors = SyntheticCheckpoint.Create(V3, 2, SyntheticFormat.F32);
        var r = Check(V3, 2, tensors, OracleAssert.Hidden(tokens, V3.Hidden, seed: 21));
        Assert.That(r.ExpertTokens.Count(n => n == 0), Is.GreaterThanOrEqualTo(V3.Experts - tokens * V3.TopK));
    }

    [TestCase("mixtral-tiny", 0, 5)]
    [TestCase("qwen2-moe-tiny", 1, 4)]
    [TestCase("deepseek-v3-tiny", 2, 9)]
    [TestCase("deepseek-v4-tiny", 3, 7)]
    [TestCase("deepseek-v4-tiny", 3, 0)]
    public void Every_token_on_one_expert(string preset, int layer, int target)
    {
        var config = MoePresets.All[preset];
        var tensors = SyntheticCheckpoint.Create(config, layer, SyntheticFormat.F32);
        string router = Prefix(config, layer) + "gate.weight";
        // Feature 0 of every token is 1, and only the target expert's router row reads it: its logit
        // is about 30 (8 under softmax, which would otherwise squeeze the other scores below the
        // oracle's margin) for every token, far above every other logit.
        float force = config.Score == ScoreFunc.Softmax ? 8 : 30;
        tensors[router] = Map(tensors[router], (i, v) => i % config.Hidden == 0 ? (i / config.Hidden == target ? force : 0) : v);
        var x = Map(OracleAssert.Hidden(7, config.Hidden, seed: 8), (i, v) => i % config.Hidden == 0 ? 1 : v);
        var r = Check(config, layer, tensors, x);
        Assert.That(r.ExpertTokens[target], Is.EqualTo(7));
    }

    [TestCase(3)]
    [TestCase(0)]
    public void Router_logits_above_the_softplus_threshold(int layer)
    {
        var tensors = SyntheticCheckpoint.Create(V4, layer, SyntheticFormat.F32);
        string router = Prefix(V4, layer) + "gate.weight";
        tensors[router] = Map(tensors[router], (_, v) => v * 40);
        var r = Check(V4, layer, tensors, OracleAssert.Hidden(7, V4.Hidden, seed: 4));
        Assert.That(r.MaxLogit, Is.GreaterThan(20));
    }

    [TestCase(SyntheticFormat.F32, 3)]
    [TestCase(SyntheticFormat.Fp4, 3)]
    [TestCase(SyntheticFormat.Fp8, 0)]
    public void SwiGLU_clamp_hits_with_large_activations(SyntheticFormat format, int layer)
    {
        var tensors = SyntheticCheckpoint.Create(V4, layer, format);
        var r = Check(V4, layer, tensors, OracleAssert.Hidden(7, V4.Hidden, seed: 6, scale: 30));
        Assert.That(r.ClampHits, Is.GreaterThan(20));
    }

    [Test]
    public void Negative_biases_never_let_a_masked_group_win()
    {
        // Every selection score is p - 2 + noise < 0. A 0.0-masking implementation (HF) would pick
        // masked experts; the reference masks with -inf, so every choice stays in a kept group.
        var tensors = SyntheticCheckpoint.Create(V3, 2, SyntheticFormat.F32);
        string bias = Prefix(V3, 2) + "gate.e_score_correction_bias";
        tensors[bias] = Map(tensors[bias], (_, v) => v - 2);
        var x = OracleAssert.Hidden(7, V3.Hidden, seed: 13);
        var expected = new OracleMoe(V3, 2, tensors).Run(x);
        var actual = OracleAssert.RunLayer(V3, 2, tensors, x);
        OracleAssert.Agrees(actual, expected, V3);
        int per = V3.Experts / V3.Groups;
        var ids = actual.TopkIds.AsSpan<int>().ToArray();
        for (int t = 0; t < 7; t++)
        {
            var groups = ids.Skip(t * V3.TopK).Take(V3.TopK).Select(e => e / per).Distinct().Count();
            Assert.That(groups, Is.LessThanOrEqualTo(V3.TopGroups), $"token {t} uses experts outside its kept groups");
        }
    }

    [TestCase(SyntheticFormat.F32)]
    [TestCase(SyntheticFormat.Fp4)]
    public void Negative_biases_change_the_choice_but_not_the_weights(SyntheticFormat format)
    {
        // Half of the experts get a bias of -1: they are never chosen although their scores are
        // unchanged, and the others' weights still come from the unbiased scores.
        var tensors = SyntheticCheckpoint.Create(V4, 3, format);
        string bias = Prefix(V4, 3) + "gate.e_score_correction_bias";
        tensors[bias] = Map(tensors[bias], (i, v) => i % 2 == 0 ? -1 : v);
        var r = Check(V4, 3, tensors, OracleAssert.Hidden(7, V4.Hidden, seed: 17));
        for (int e = 0; e < V4.Experts; e += 2)
        {
            Assert.That(r.ExpertTokens[e], Is.Zero, $"expert {e} has a bias of -1");
        }
    }
}
