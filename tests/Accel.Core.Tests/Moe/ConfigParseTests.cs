using Accel.Graph;
using Accel.Moe;

namespace Accel.Core.Tests.Moe;

/// <summary>
/// config.json text of each family (published values, moe-spec 1.9, 2.2, 3.1, 3.2) parsed into the
/// expected <see cref="MoeConfig"/>, field by field through record equality.
/// </summary>
public sealed class ConfigParseTests
{
    public const string V3Json = """
        {
          "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
          "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048,
          "num_hidden_layers": 61, "first_k_dense_replace": 3, "n_routed_experts": 256, "n_shared_experts": 1,
          "num_experts_per_tok": 8, "n_group": 8, "topk_group": 4, "topk_method": "noaux_tc",
          "scoring_func": "sigmoid", "norm_topk_prob": true, "routed_scaling_factor": 2.5,
          "moe_layer_freq": 1, "vocab_size": 129280, "rms_norm_eps": 1e-06,
          "quantization_config": { "activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8", "weight_block_size": [128, 128] }
        }
        """;

    /// <summary>DeepSeek-V2-Lite: softmax (by default), no groups, two shared experts, no renormalisation.</summary>
    public const string V2LiteJson = """
        {
          "model_type": "deepseek_v2", "hidden_size": 2048, "moe_intermediate_size": 1408, "num_hidden_layers": 27,
          "first_k_dense_replace": 1, "n_routed_experts": 64, "n_shared_experts": 2, "num_experts_per_tok": 6,
          "n_group": 1, "topk_group": 1, "topk_method": "greedy", "norm_topk_prob": false,
          "routed_scaling_factor": 1.0, "vocab_size": 102400, // comments and trailing commas are tolerated
        }
        """;

    public const string V4FlashJson = """
        {
          "model_type": "deepseek_v4", "hidden_size": 4096, "moe_intermediate_size": 2048, "num_hidden_layers": 43,
          "n_routed_experts": 256, "n_shared_experts": 1, "num_experts_per_tok": 6, "scoring_func": "sqrtsoftplus",
          "routed_scaling_factor": 1.5, "norm_topk_prob": true, "topk_method": "noaux_tc", "num_hash_layers": 3,
          "swiglu_limit": 10.0, "vocab_size": 129280, "hc_mult": 4, "rms_norm_eps": 1e-06
        }
        """;

    public const string MixtralJson = """
        {
          "model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
          "num_local_experts": 8, "num_experts_per_tok": 2, "router_aux_loss_coef": 0.02, "vocab_size": 32000
        }
        """;

    /// <summary>Qwen1.5-MoE-A2.7B.</summary>
    public const string QwenJson = """
        {
          "model_type": "qwen2_moe", "hidden_size": 2048, "intermediate_size": 5632, "moe_intermediate_size": 1408,
          "shared_expert_intermediate_size": 5632, "num_experts": 60, "num_experts_per_tok": 4,
          "norm_topk_prob": false, "num_hidden_layers": 24, "decoder_sparse_step": 1, "vocab_size": 151936
        }
        """;

    public static IEnumerable<TestCaseData> Configs()
    {
        yield return new TestCaseData(V3Json, new MoeConfig
        {
            Family = MoeFamily.DeepSeekV3, Hidden = 7168, Experts = 256, TopK = 8, ExpertWidth = 2048, SharedWidth = 2048,
            Score = ScoreFunc.Sigmoid, Groups = 8, TopGroups = 4, Normalize = true, RouteScale = 2.5f, SelectionBias = true,
            FirstDenseLayers = 3, Layers = 61,
        }).SetArgDisplayNames("deepseek-v3-671b");
        yield return new TestCaseData(V2LiteJson, new MoeConfig
        {
            Family = MoeFamily.DeepSeekV3, Hidden = 2048, Experts = 64, TopK = 6, ExpertWidth = 1408, SharedWidth = 2816,
            Score = ScoreFunc.Softmax, Groups = 1, TopGroups = 1, Normalize = false, RouteScale = 1f, SelectionBias = false,
            FirstDenseLayers = 1, Layers = 27,
        }).SetArgDisplayNames("deepseek-v2-lite");
        yield return new TestCaseData(V4FlashJson, MoePresets.DeepSeekV4Flash).SetArgDisplayNames("deepseek-v4-flash");
        yield return new TestCaseData(MixtralJson, new MoeConfig
        {
            Family = MoeFamily.Mixtral, Hidden = 4096, Experts = 8, TopK = 2, ExpertWidth = 14336, Score = ScoreFunc.Softmax,
            Normalize = true, NormEpsilon = 0, Layers = 32,
        }).SetArgDisplayNames("mixtral-8x7b");
        yield return new TestCaseData(QwenJson, new MoeConfig
        {
            Family = MoeFamily.Qwen2Moe, Hidden = 2048, Experts = 60, TopK = 4, ExpertWidth = 1408, SharedWidth = 5632,
            SharedExpertGate = true, Score = ScoreFunc.Softmax, Normalize = false, NormEpsilon = 0, Layers = 24,
        }).SetArgDisplayNames("qwen1.5-moe-a2.7b");
    }

    [TestCaseSource(nameof(Configs))]
    public void Parses_to_the_expected_fields(string json, MoeConfig expected) =>
        Assert.That(HfConfigReader.Parse(json), Is.EqualTo(expected));

    [Test]
    public void DeepSeek_V4_Flash_fields_spelled_out()
    {
        var c = HfConfigReader.Parse(V4FlashJson);
        Assert.That((c.Family, c.Hidden, c.Experts, c.TopK, c.ExpertWidth, c.SharedWidth),
            Is.EqualTo((MoeFamily.DeepSeekV4, 4096, 256, 6, 2048, 2048)));
        Assert.That((c.Score, c.Normalize, c.RouteScale, c.SwigluLimit, c.WeightBeforeDown),
            Is.EqualTo((ScoreFunc.SqrtSoftplus, true, 1.5f, (float?)10f, true)));
        Assert.That((c.HashLayers, c.Vocab, c.SelectionBias, c.Groups, c.FirstDenseLayers, c.Layers),
            Is.EqualTo((3, 129280, true, 1, 0, 43)));
        Assert.That(c.IsHashLayer(2) && !c.IsHashLayer(3), Is.True);
    }

    [Test]
    public void Qwen_with_norm_topk_prob_renormalises() =>
        Assert.That(HfConfigReader.Parse(QwenJson.Replace("\"norm_topk_prob\": false", "\"norm_topk_prob\": true", StringComparison.Ordinal)).Normalize,
            Is.True);

    [Test]
    public void Qwen_without_a_shared_expert_has_no_gate()
    {
        var c = HfConfigReader.Parse(QwenJson.Replace("\"shared_expert_intermediate_size\": 5632,", "", StringComparison.Ordinal));
        Assert.That((c.SharedWidth, c.SharedExpertGate), Is.EqualTo((0, false)));
    }

    [Test]
    public void DeepSeek_V3_sigmoid_renormalises_by_default_and_softmax_does_not()
    {
        string noFlag = V3Json.Replace("\"norm_topk_prob\": true,", "", StringComparison.Ordinal);
        Assert.That(HfConfigReader.Parse(noFlag).Normalize, Is.True);
        Assert.That(HfConfigReader.Parse(noFlag.Replace("\"sigmoid\"", "\"softmax\"", StringComparison.Ordinal)).Normalize, Is.False);
    }

    [Test]
    public void DeepSeek_V4_without_swiglu_limit_has_no_clamp() =>
        Assert.That(HfConfigReader.Parse(V4FlashJson.Replace("\"swiglu_limit\": 10.0,", "", StringComparison.Ordinal)).SwigluLimit, Is.Null);
}
