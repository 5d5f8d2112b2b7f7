using System.Collections.Concurrent;
using Accel.Graph;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Oracle;

/// <summary>
/// MoeLayer on the reference backend against the float64 oracle, for every family, every storage
/// format and T = 0, 1, 7, from synthetic checkpoints under their Hugging Face names.
/// </summary>
public sealed class LayerVsOracleTests
{
    /// <summary>One layer shape of one family.</summary>
    public sealed record Family(string Name, MoeConfig Config, int Layer)
    {
        public override string ToString() => Name;
    }

    /// <summary>DeepSeek-V2-style: softmax, max group score (no bias), s = 16, no renormalisation.</summary>
    public static readonly MoeConfig V3SoftmaxMaxGroup = MoePresets.DeepSeekV3Tiny with
    {
        Score = ScoreFunc.Softmax, SelectionBias = false, RouteScale = 16, Normalize = false,
    };

    /// <summary>FP8 partial blocks: hidden 136 and width 200 are not multiples of 128 (nor of 32 for FP4).</summary>
    public static readonly MoeConfig V3Partial = MoePresets.DeepSeekV3Tiny with
    {
        Hidden = 136, ExpertWidth = 200, SharedWidth = 200, Experts = 4, Groups = 2, TopGroups = 1, TopK = 2,
    };

    /// <summary>DeepSeek-V4 with partial FP8/FP4 blocks.</summary>
    public static readonly MoeConfig V4Partial = MoePresets.DeepSeekV4Tiny with
    {
        Hidden = 136, ExpertWidth = 200, SharedWidth = 200, Experts = 4, TopK = 2,
    };

    public static readonly Family[] Families =
    [
        new("v3 sigmoid+bias+top2sum groups", MoePresets.DeepSeekV3Tiny, 2),
        new("v3 softmax max-group s16 no-norm", V3SoftmaxMaxGroup, 1),
        new("v4 scored layer", MoePresets.DeepSeekV4Tiny, 3),
        new("v4 hash layer", MoePresets.DeepSeekV4Tiny, 0),
        new("mixtral", MoePresets.MixtralTiny, 0),
        new("qwen2 no norm_topk_prob", MoePresets.Qwen2MoeTiny, 1),
        new("qwen2 norm_topk_prob", MoePresets.Qwen2MoeTiny with { Normalize = true }, 1),
    ];

    private static readonly SyntheticFormat[] Formats = [SyntheticFormat.F32, SyntheticFormat.BF16, SyntheticFormat.Fp8, SyntheticFormat.Fp4];

    public static IEnumerable<TestCaseData> EveryFamilyFormatAndTokenCount()
    {
        foreach (var f in Families)
        {
            foreach (var format in Formats)
            {
                foreach (int tokens in (int[])[0, 1, 7])
                {
                    yield return new TestCaseData(f, format, tokens).SetArgDisplayNames(f.Name, format.ToString(), $"T={tokens}");
                }
            }
        }
    }

    [TestCaseSource(nameof(EveryFamilyFormatAndTokenCount))]
    public void Layer_matches_the_oracle(Family f, SyntheticFormat format, int tokens) =>
        Compare(f.Config, f.Layer, format, OracleAssert.Hidden(tokens, f.Config.Hidden));

    public static IEnumerable<TestCaseData> AllFamilies() =>
        Families.Select(f => new TestCaseData(f).SetArgDisplayNames(f.Name));

    [TestCaseSource(nameof(AllFamilies))]
    public void Many_tokens_match_the_oracle(Family f) =>
        Compare(f.Config, f.Layer, SyntheticFormat.F32, OracleAssert.Hidden(64, f.Config.Hidden, seed: 64));

    /// <summary>Legal but extreme shapes: one expert, K = E, one expert per group, groups of two with top-2 sums.</summary>
    public static readonly Family[] Degenerate =
    [
        new("mixtral one expert", MoePresets.MixtralTiny with { Experts = 1, TopK = 1 }, 0),
        new("qwen2 K = E", MoePresets.Qwen2MoeTiny with { TopK = 6 }, 1),
        new("v3 one expert per group", V3SoftmaxMaxGroup with { Groups = 16, TopGroups = 4 }, 1),
        new("v3 groups of two", MoePresets.DeepSeekV3Tiny with { Groups = 8, TopGroups = 3, TopK = 6 }, 2),
        new("v4 K = 1", MoePresets.DeepSeekV4Tiny with { TopK = 1 }, 3),
        new("v4 hash K = 1", MoePresets.DeepSeekV4Tiny with { TopK = 1 }, 1),
    ];

    public static IEnumerable<TestCaseData> DegenerateShapes() =>
        Degenerate.SelectMany(f => ((int[])[0, 1, 7]).Select(t => new TestCaseData(f, t).SetArgDisplayNames(f.Name, $"T={t}")));

    [TestCaseSource(nameof(DegenerateShapes))]
    public void Degenerate_shapes_match_the_oracle(Family f, int tokens) =>
        Compare(f.Config, f.Layer, SyntheticFormat.Fp8, OracleAssert.Hidden(tokens, f.Config.Hidden, seed: 21));

    public static IEnumerable<TestCaseData> BF16Inputs() =>
        Families.Select(f => new TestCaseData(f).SetArgDisplayNames(f.Name));

    [TestCaseSource(nameof(BF16Inputs))]
    public void BF16_hidden_states_match_the_oracle(Family f)
    {
        var x = OracleAssert.Hidden(7, f.Config.Hidden, seed: 5, bf16: true);
        Assert.That(x.Type, Is.EqualTo(DType.BF16));
        Compare(f.Config, f.Layer, SyntheticFormat.F32, x);
    }

    [TestCase("v3", SyntheticFormat.Fp8, 2)]
    [TestCase("v3", SyntheticFormat.Fp4, 2)]
    [TestCase("v4", SyntheticFormat.Fp8, 3)]
    [TestCase("v4", SyntheticFormat.Fp4, 3)]
    [TestCase("v4", SyntheticFormat.Fp4, 1)]
    public void Partial_quantisation_blocks_match_the_oracle(string family, SyntheticFormat format, int layer)
    {
        var config = family == "v3" ? V3Partial : V4Partial;
        var tensors = SyntheticCheckpoint.Create(config, layer, format);
        string p = $"model.layers.{layer}.mlp.";
        // The partial edge blocks really exist in the stored scales.
        if (format == SyntheticFormat.Fp8)
        {
            Assert.That(tensors[p + "experts.0.down_proj.weight_scale_inv"].Shape, Is.EqualTo(new Shape(2, 2)));
        }
        else
        {
            Assert.That(tensors[p + "experts.0.gate_proj.weight"].Type, Is.EqualTo(DType.U8));
            Assert.That(tensors[p + "experts.0.gate_proj.scale"].Shape, Is.EqualTo(new Shape(200, 5)));
            Assert.That(tensors[p + "shared_experts.down_proj.weight_scale_inv"].Type, Is.EqualTo(DType.UE8M0));
        }

        var x = OracleAssert.Hidden(7, config.Hidden, seed: 11);
        var ids = config.IsHashLayer(layer) ? TokenIds(7, config.Vocab) : null;
        var expected = new OracleMoe(config, layer, tensors).Run(x, ids);
        OracleAssert.Agrees(OracleAssert.RunLayer(config, layer, tensors, x, ids), expected, config);
    }

    private static readonly ConcurrentDictionary<(MoeConfig, int, SyntheticFormat), Dictionary<string, HostTensor>> Checkpoints = new();

    /// <summary>The synthetic checkpoint of a layer, created once per test run (nothing mutates it).</summary>
    internal static Dictionary<string, HostTensor> Checkpoint(MoeConfig config, int layer, SyntheticFormat format) =>
        Checkpoints.GetOrAdd((config, layer, format), k => SyntheticCheckpoint.Create(k.Item1, k.Item2, k.Item3));

    internal static void Compare(MoeConfig config, int layer, SyntheticFormat format, HostTensor x)
    {
        var tensors = Checkpoint(config, layer, format);
        int tokens = (int)x.Shape[0];
        var ids = config.IsHashLayer(layer) ? TokenIds(tokens, config.Vocab) : null;
        var expected = new OracleMoe(config, layer, tensors).Run(x, ids);
        var actual = OracleAssert.RunLayer(config, layer, tensors, x, ids);
        OracleAssert.Agrees(actual, expected, config);
    }

    internal static int[] TokenIds(int tokens, int vocab, int seed = 3)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, tokens).Select(_ => rng.Next(vocab))];
    }
}
