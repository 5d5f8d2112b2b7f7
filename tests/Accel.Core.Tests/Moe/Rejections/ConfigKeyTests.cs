using System.Text.Json;
using System.Text.Json.Nodes;
using Accel.Errors;
using Accel.Moe;

namespace Accel.Core.Tests.Moe.Rejections;

/// <summary>
/// For every key <see cref="HfConfigReader"/> reads, a bad value (or a missing required key) is
/// refused with a message that holds the key exactly as written in the file, in double quotes
/// (nested keys as <c>"parent.key"</c>), and says what was expected.
/// </summary>
public sealed class ConfigKeyTests
{
    private static TestCaseData Case(string json, string key, string? value, string expected) =>
        new TestCaseData(json, key, value, expected).SetArgDisplayNames($"{key}={value ?? "(missing)"}");

    private static IEnumerable<TestCaseData> BadValues()
    {
        const string V3 = ConfigParseTests.V3Json, V4 = ConfigParseTests.V4FlashJson;
        const string Mixtral = ConfigParseTests.MixtralJson, Qwen = ConfigParseTests.QwenJson;
        yield return Case(V3, "model_type", "5", "must be a string");
        yield return Case(V3, "model_type", "\"llama\"", "supported MoE models");
        yield return Case(V3, "hidden_size", "-1", "must be positive but is -1");
        yield return Case(V3, "hidden_size", null, "lacks the key");
        yield return Case(V3, "n_routed_experts", "0", "must be positive but is 0");
        yield return Case(V3, "n_routed_experts", "\"256\"", "must be a whole number");
        yield return Case(V3, "num_experts_per_tok", "300", "must be between 1 and");
        yield return Case(V3, "moe_intermediate_size", "0", "must be positive but is 0");
        yield return Case(V3, "n_shared_experts", "-1", "must not be negative but is -1");
        yield return Case(V3, "n_shared_experts", "2000000", "too large for a 32-bit size");
        yield return Case(V3, "n_group", "7", "does not divide");
        yield return Case(V3, "topk_group", "9", "must be between 1 and");
        yield return Case(V3, "topk_method", "\"top2\"", "is unknown");
        yield return Case(V3, "scoring_func", "\"relu\"", "is unknown");
        yield return Case(V3, "norm_topk_prob", "1", "must be true or false");
        yield return Case(V3, "routed_scaling_factor", "1e39", "must be a finite number");
        yield return Case(V3, "first_k_dense_replace", "-3", "must not be negative but is -3");
        yield return Case(V3, "num_hidden_layers", "-1", "must not be negative but is -1");
        yield return Case(V3, "quantization_config", "\"fp8\"", "must be an object");
        yield return Case(V3, "quantization_config.weight_block_size", "[64, 64]", "is [64, 64], but Accel reads FP8 weights with one scale per 128 x 128 block");
        yield return Case(V3, "quantization_config.weight_block_size", "[128]", "must be a list of 2 positive whole numbers");
        yield return Case(V3, "quantization_config.weight_block_size", "\"128x128\"", "must be a list of 2 positive whole numbers");
        yield return Case(V4, "n_shared_experts", "2", "at most one shared expert");
        yield return Case(V4, "num_hash_layers", "-1", "must not be negative but is -1");
        yield return Case(V4, "vocab_size", "0", "hash layers need a positive");
        yield return Case(V4, "vocab_size", null, "lacks the key");
        yield return Case(V4, "swiglu_limit", "\"10\"", "must be a finite number");
        yield return Case(V4, "n_routed_experts", null, "lacks the key");
        yield return Case(Mixtral, "num_local_experts", "0", "must be positive but is 0");
        yield return Case(Mixtral, "intermediate_size", "2.5", "must be a whole number");
        yield return Case(Mixtral, "num_experts_per_tok", "9", "must be between 1 and");
        yield return Case(Qwen, "num_experts", null, "lacks the key");
        yield return Case(Qwen, "shared_expert_intermediate_size", "-1", "must not be negative but is -1");
        yield return Case(Qwen, "norm_topk_prob", "\"false\"", "must be true or false");
        yield return Case(Qwen, "moe_intermediate_size", "true", "must be a whole number");
    }

    [TestCaseSource(nameof(BadValues))]
    public void The_message_names_the_key_as_written(string json, string key, string? value, string expected)
    {
        string bad = With(json, key, value);
        var ex = Assert.Throws<ConfigException>(() => HfConfigReader.Parse(bad, "model/config.json"))!;
        Assert.That(ex.Message, Does.Contain($"\"{key}\"").And.Contain(expected).And.Contain("'model/config.json'"));
    }

    [Test]
    public void The_published_configs_with_128_blocks_are_accepted() =>
        Assert.That(HfConfigReader.Parse(With(ConfigParseTests.V3Json, "quantization_config.weight_block_size", "[128, 128]")).Experts,
            Is.EqualTo(256));

    [Test]
    public void A_repeated_key_takes_its_last_value_as_python_does() =>
        Assert.That(HfConfigReader.Parse(ConfigParseTests.MixtralJson.Replace("\"num_local_experts\": 8,",
            "\"num_local_experts\": 3, \"num_local_experts\": 8,", StringComparison.Ordinal)).Experts, Is.EqualTo(8));

    /// <summary><paramref name="json"/> with the (possibly nested, dot-separated) key set to raw JSON, or removed when null.</summary>
    private static string With(string json, string key, string? value)
    {
        var root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip })!.AsObject();
        string[] parts = key.Split('.');
        JsonObject parent = root;
        foreach (string part in parts[..^1])
        {
            parent = parent[part]!.AsObject();
        }

        if (value is null)
        {
            Assert.That(parent.Remove(parts[^1]), Is.True, $"the seed config has no key {key}");
        }
        else
        {
            parent[parts[^1]] = JsonNode.Parse(value);
        }

        return root.ToJsonString();
    }
}
