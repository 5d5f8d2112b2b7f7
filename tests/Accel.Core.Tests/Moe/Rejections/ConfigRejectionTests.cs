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

    [TestCase(""", "num_experts_per_tok": 17""", "\"num_experts_per_tok\" (experts per token) is 17 but must be between 1 and \"n_routed_experts\" (the number of routed experts), which is 16")]
    [TestCase(""", "num_experts_per_tok": 0""", "\"num_experts_per_tok\" (experts per token) is 0 but must be between 1")]
    [TestCase(""", "n_group": 3""", "\"n_group\" (the number of expert groups) is 3, which does not divide \"n_routed_experts\" (the number of routed experts), which is 16")]
    [TestCase(""", "n_group": 0""", "\"n_group\" (the number of expert groups) must be at least 1 but is 0")]
    [TestCase(""", "topk_group": 5""", "\"topk_group\" (the groups kept per token) is 5 but must be between 1 and \"n_group\" (the number of expert groups), which is 4")]
    [TestCase(""", "num_experts_per_tok": 9""", "\"num_experts_per_tok\" (experts per token) is 9, more than the 8 experts in the kept groups: \"topk_group\" (the groups kept per token) is 2 and each group holds 4 experts")]
    [TestCase(""", "hidden_size": 0""", "\"hidden_size\" (the hidden size) must be positive but is 0")]
    [TestCase(""", "moe_intermediate_size": -4""", "\"moe_intermediate_size\" (the expert intermediate size) must be positive but is -4.")]
    public void Contradictory_routing_settings(string overrides, string expected)
    {
        var message = Rejects(V3Json(overrides));
        Assert.That(message, Does.Contain("config 'tiny.json' is invalid").And.Contain(expected).And.EndWith("Correct the named keys."));
    }

    [Test]
    public void Every_problem_is_listed_at_once() =>
        Assert.That(Rejects(V3Json(""", "n_group": 3, "num_experts_per_tok": 17""")),
            Does.Contain("\"n_group\" (the number of expert groups) is 3, which does not divide").And.Contain("\"num_experts_per_tok\" (experts per token) is 17"));

    [Test]
    public void A_contradictory_config_is_refused_by_the_layer_too()
    {
        var config = MoePresets.DeepSeekV3Tiny;
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(config, 2, SyntheticFormat.F32)), config, 2);
        using var backend = new ReferenceBackend();
        var ex = Assert.Throws<ConfigException>(() => new MoeLayer(config with { TopK = 9 }, 2, weights, [backend]))!;
        Assert.That(ex.Message, Does.Contain("experts per token is 9, more than the 8 experts in the kept groups: the groups kept per token is 2"));
        ex = Assert.Throws<ConfigException>(() => new MoeLayer(config with { TopGroups = 5 }, 2, weights, [backend]))!;
        Assert.That(ex.Message, Does.Contain("the groups kept per token is 5 but must be between 1 and the number of expert groups, which is 4")
            .And.Not.Contain("Correct the named keys"));
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
            Does.Contain($"\"model_type\" '{type}'").And.Contain("supported MoE models are deepseek_v2, deepseek_v3, deepseek_v4, mixtral and qwen2_moe"));

    [Test]
    public void Missing_model_type() =>
        Assert.That(Rejects("""{ "hidden_size": 8 }"""), Does.Contain("lacks the key \"model_type\"").And.Contain("supported MoE models"));

    [TestCase(""", "hidden_size": "48" """, "\"hidden_size\" must be a whole number that fits 32 bits but is \"48\"; write it as a plain JSON integer")]
    [TestCase(""", "hidden_size": 48.5""", "\"hidden_size\" must be a whole number that fits 32 bits but is 48.5")]
    [TestCase(""", "hidden_size": 3000000000""", "\"hidden_size\" must be a whole number that fits 32 bits but is 3000000000")]
    [TestCase(""", "norm_topk_prob": "yes" """, "\"norm_topk_prob\" must be true or false but is \"yes\"; write it without quotes")]
    [TestCase(""", "scoring_func": 3""", "\"scoring_func\" must be a string but is 3; write it in double quotes")]
    [TestCase(""", "routed_scaling_factor": "2.5" """, "\"routed_scaling_factor\" must be a finite number")]
    [TestCase(""", "routed_scaling_factor": 1e39""", "\"routed_scaling_factor\" must be a finite number within the 32-bit float range (about ±3.4e38) but is 1e39")]
    [TestCase(""", "scoring_func": "relu" """, "\"scoring_func\" is 'relu', which is unknown; use \"softmax\", \"sigmoid\" or \"sqrtsoftplus\"")]
    [TestCase(""", "topk_method": "best" """, "\"topk_method\" is 'best', which is unknown; use \"greedy\", \"group_limited_greedy\" or \"noaux_tc\"")]
    public void Field_of_the_wrong_type(string overrides, string expected) =>
        Assert.That(Rejects(V3Json(overrides)), Does.Contain(expected));

    [TestCase("n_routed_experts")]
    [TestCase("hidden_size")]
    [TestCase("moe_intermediate_size")]
    public void Missing_required_field(string field)
    {
        string json = V3Json().Replace($"\"{field}\":", $"\"x_{field}\":", StringComparison.Ordinal);
        Assert.That(Rejects(json), Does.Contain($"lacks the key \"{field}\"").And.Contain($"The file has \"x_{field}\"; is that a misspelling?"));
    }

    [TestCase("mixtral", "num_local_experts")]
    [TestCase("qwen2_moe", "num_experts")]
    [TestCase("deepseek_v4", "n_routed_experts")]
    public void Missing_field_of_other_families(string type, string field) =>
        Assert.That(Rejects($$"""{ "model_type": "{{type}}", "hidden_size": 8, "num_experts_per_tok": 2, "intermediate_size": 4 }"""),
            Does.Contain($"lacks the key \"{field}\", which this model type needs; add it."));

    [Test]
    public void DeepSeek_V4_with_two_shared_experts() =>
        Assert.That(Rejects(ConfigParseTests.V4FlashJson.Replace("\"n_shared_experts\": 1", "\"n_shared_experts\": 2", StringComparison.Ordinal)),
            Does.Contain("at most one shared expert").And.Contain("is 2"));

    [Test]
    public void DeepSeek_V4_hash_layers_without_a_vocabulary() =>
        Assert.That(Rejects(ConfigParseTests.V4FlashJson.Replace("\"vocab_size\": 129280,", "", StringComparison.Ordinal)),
            Does.Contain("lacks the key \"vocab_size\""));

    [Test]
    public void Unreadable_config_file() =>
        Assert.That(Assert.Throws<ConfigException>(() => HfConfigReader.ReadFile(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".json")))!.Message,
            Does.Contain("Cannot read the config file"));
}
