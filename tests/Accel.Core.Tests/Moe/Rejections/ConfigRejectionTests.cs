using Accel.Backends.Reference;
using Accel.Errors;
using Accel.IO;
using Accel.Moe;

namespace Accel.Core.Tests.Moe.Rejections;

/// <summary>
/// Contradictory routing settings (from a config.json or set directly) and malformed config.json
/// text, each rejected with a message that names the field and the values.
/// </summary>
public sealed class ConfigRejectionTests
{
    /// <summary>A small DeepSeek-V3 config.json whose fields the cases below override.</summary>
    private static string V3Json(string overrides = "") => $$"""
        {
          "model_type": "deepseek_v3", "hidden_size": 48, "n_routed_experts": 16, "num_experts_per_tok": 4,
          "moe_intermediate_size": 40, "n_shared_experts": 1, "n_group": 4, "topk_group": 2,
          "scoring_func": "sigmoid", "topk_method": "noaux_tc", "norm_topk_prob": true,
          "routed_scaling_factor": 2.5, "first_k_dense_replace": 1, "num_hidden_layers": 4 {{overrides}}
        }
        """;

    private static string Rejects(string json) => Assert.Throws<ConfigException>(() => HfConfigReader.Parse(json, "tiny.json"))!.Message;

    [Test]
    public void The_base_config_is_valid() =>
        Assert.That(HfConfigReader.Parse(V3Json()), Is.EqualTo(MoePresets.DeepSeekV3Tiny));

    [TestCase(""", "num_experts_per_tok": 17""", "experts per token (17) must be between 1 and the number of experts (16)")]
    [TestCase(""", "num_experts_per_tok": 0""", "experts per token (0) must be between 1")]
    [TestCase(""", "n_group": 3""", "3 expert groups do not divide 16 experts")]
    [TestCase(""", "n_group": 0""", "number of expert groups must be at least 1 (is 0)")]
    [TestCase(""", "topk_group": 5""", "top-k groups (5) must be between 1 and the number of groups (4)")]
    [TestCase(""", "num_experts_per_tok": 9""", "experts per token (9) exceeds the 8 experts in the 2 kept groups")]
    [TestCase(""", "hidden_size": 0""", "hidden size must be positive (is 0)")]
    [TestCase(""", "moe_intermediate_size": -4""", "expert intermediate size must be positive (is -4)")]
    public void Contradictory_routing_settings(string overrides, string expected)
    {
        var message = Rejects(V3Json(overrides));
        Assert.That(message, Does.Contain("config 'tiny.json' is invalid").And.Contain(expected));
    }

    [Test]
    public void Every_problem_is_listed_at_once() =>
        Assert.That(Rejects(V3Json(""", "n_group": 3, "num_experts_per_tok": 17""")),
            Does.Contain("3 expert groups do not divide 16 experts").And.Contain("experts per token (17)"));

    [Test]
    public void A_contradictory_config_is_refused_by_the_layer_too()
    {
        var config = MoePresets.DeepSeekV3Tiny;
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(config, 2, SyntheticFormat.F32)), config, 2);
        using var backend = new ReferenceBackend();
        var ex = Assert.Throws<ConfigException>(() => new MoeLayer(config with { TopK = 9 }, 2, weights, [backend]))!;
        Assert.That(ex.Message, Does.Contain("experts per token (9) exceeds the 8 experts in the 2 kept groups"));
        ex = Assert.Throws<ConfigException>(() => new MoeLayer(config with { TopGroups = 5 }, 2, weights, [backend]))!;
        Assert.That(ex.Message, Does.Contain("top-k groups (5)"));
    }

    [Test]
    public void Bad_json() =>
        Assert.That(Rejects("""{ "model_type": "deepseek_v3", "hidden_size": 48 """), Does.Contain("'tiny.json' is not valid JSON").And.Contain("line"));

    [Test]
    public void Json_that_is_not_an_object() =>
        Assert.That(Rejects("[1, 2]"), Does.Contain("must hold a JSON object"));

    [TestCase("llama")]
    [TestCase("")]
    public void Unknown_model_type(string type) =>
        Assert.That(Rejects($$"""{ "model_type": "{{type}}", "hidden_size": 8 }"""),
            Does.Contain($"model_type '{type}'").And.Contain("supported MoE models are deepseek_v2, deepseek_v3, deepseek_v4, mixtral and qwen2_moe"));

    [Test]
    public void Missing_model_type() =>
        Assert.That(Rejects("""{ "hidden_size": 8 }"""), Does.Contain("model_type ''").And.Contain("supported MoE models"));

    [TestCase(""", "hidden_size": "48" """, "'hidden_size' must be an integer but is \"48\"")]
    [TestCase(""", "hidden_size": 48.5""", "'hidden_size' must be an integer but is 48.5")]
    [TestCase(""", "norm_topk_prob": "yes" """, "'norm_topk_prob' must be true or false")]
    [TestCase(""", "scoring_func": 3""", "'scoring_func' must be a string but is 3")]
    [TestCase(""", "routed_scaling_factor": "2.5" """, "'routed_scaling_factor' must be a finite number")]
    [TestCase(""", "scoring_func": "relu" """, "scoring_func 'relu' is unknown")]
    public void Field_of_the_wrong_type(string overrides, string expected) =>
        Assert.That(Rejects(V3Json(overrides)), Does.Contain(expected));

    [TestCase("n_routed_experts")]
    [TestCase("hidden_size")]
    [TestCase("moe_intermediate_size")]
    public void Missing_required_field(string field)
    {
        string json = V3Json().Replace($"\"{field}\":", $"\"x_{field}\":", StringComparison.Ordinal);
        Assert.That(Rejects(json), Does.Contain($"lacks the field '{field}'"));
    }

    [TestCase("mixtral", "num_local_experts")]
    [TestCase("qwen2_moe", "num_experts")]
    [TestCase("deepseek_v4", "n_routed_experts")]
    public void Missing_field_of_other_families(string type, string field) =>
        Assert.That(Rejects($$"""{ "model_type": "{{type}}", "hidden_size": 8, "num_experts_per_tok": 2, "intermediate_size": 4 }"""),
            Does.Contain($"lacks the field '{field}'"));

    [Test]
    public void DeepSeek_V4_with_two_shared_experts() =>
        Assert.That(Rejects(ConfigParseTests.V4FlashJson.Replace("\"n_shared_experts\": 1", "\"n_shared_experts\": 2", StringComparison.Ordinal)),
            Does.Contain("at most one shared expert").And.Contain("is 2"));

    [Test]
    public void DeepSeek_V4_hash_layers_without_a_vocabulary() =>
        Assert.That(Rejects(ConfigParseTests.V4FlashJson.Replace("\"vocab_size\": 129280,", "", StringComparison.Ordinal)),
            Does.Contain("hash layers need a positive vocabulary size"));

    [Test]
    public void Unreadable_config_file() =>
        Assert.That(Assert.Throws<ConfigException>(() => HfConfigReader.ReadFile(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".json")))!.Message,
            Does.Contain("Cannot read the config file"));
}
