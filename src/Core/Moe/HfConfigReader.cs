using System.Text.Json;
using Accel.Errors;
using Accel.Graph;

namespace Accel.Moe;

/// <summary>
/// Reads the MoE block of a Hugging Face <c>config.json</c> for DeepSeek-V3 (and V2), DeepSeek-V4,
/// Mixtral and Qwen2-MoE, with the routing rules each family's reference code applies.
/// </summary>
public static class HfConfigReader
{
    /// <summary>Reads and validates a config file.</summary>
    public static MoeConfig ReadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"Cannot read the config file '{path}': {e.Message}");
        }

        return Parse(text, path);
    }

    /// <summary>Parses and validates config.json text; <paramref name="source"/> names it in messages.</summary>
    public static MoeConfig Parse(string json, string source = "config.json")
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new ConfigException($"'{source}' is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): {e.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigException($"'{source}' must hold a JSON object.");
            }

            var r = new Fields(doc.RootElement, source);
            string modelType = r.String("model_type", "") ?? "";
            var config = modelType switch
            {
                "deepseek_v3" or "deepseek_v2" => DeepSeekV3(r),
                "deepseek_v4" => DeepSeekV4(r),
                "mixtral" => Mixtral(r),
                "qwen2_moe" => Qwen2Moe(r),
                _ => throw new ConfigException(
                    $"'{source}' has model_type '{modelType}'; supported MoE models are deepseek_v2, deepseek_v3, deepseek_v4, mixtral and qwen2_moe."),
            };
            return MoeConfigValidator.Validate(config, $"config '{source}'");
        }
    }

    private static MoeConfig DeepSeekV3(Fields r)
    {
        var score = ParseScore(r, r.String("scoring_func", "softmax")!);
        string topkMethod = r.String("topk_method", "greedy")!;
        bool bias = topkMethod == "noaux_tc";
        return new MoeConfig
        {
            Family = MoeFamily.DeepSeekV3,
            Hidden = r.Int("hidden_size"),
            Experts = r.Int("n_routed_experts"),
            TopK = r.Int("num_experts_per_tok"),
            ExpertWidth = r.Int("moe_intermediate_size"),
            SharedWidth = r.Int("n_shared_experts", 0) * r.Int("moe_intermediate_size"),
            Score = score,
            Groups = r.Int("n_group", 1),
            TopGroups = r.Int("topk_group", 1),
            Normalize = r.Bool("norm_topk_prob", score != ScoreFunc.Softmax),
            RouteScale = r.Float("routed_scaling_factor", 1f),
            SelectionBias = bias,
            FirstDenseLayers = r.Int("first_k_dense_replace", 0),
            Layers = r.Int("num_hidden_layers", 0),
        };
    }

    private static MoeConfig DeepSeekV4(Fields r)
    {
        int shared = r.Int("n_shared_experts", 1);
        if (shared is not (0 or 1))
        {
            throw new ConfigException($"'{r.Source}': DeepSeek-V4 has at most one shared expert but n_shared_experts is {shared}.");
        }

        var score = ParseScore(r, r.String("scoring_func", "sqrtsoftplus")!);
        int hashLayers = r.Int("num_hash_layers", 0);
        float? limit = r.Has("swiglu_limit") ? r.Float("swiglu_limit") : null;
        return new MoeConfig
        {
            Family = MoeFamily.DeepSeekV4,
            Hidden = r.Int("hidden_size"),
            Experts = r.Int("n_routed_experts"),
            TopK = r.Int("num_experts_per_tok"),
            ExpertWidth = r.Int("moe_intermediate_size"),
            SharedWidth = shared * r.Int("moe_intermediate_size"),
            Score = score,
            Normalize = score != ScoreFunc.Softmax,
            RouteScale = r.Float("routed_scaling_factor", 1f),
            SwigluLimit = limit is > 0 ? limit : null,
            WeightBeforeDown = true,
            HashLayers = hashLayers,
            Vocab = r.Int("vocab_size", hashLayers > 0 ? -1 : 0),
            SelectionBias = true,
            Layers = r.Int("num_hidden_layers", 0),
        };
    }

    private static MoeConfig Mixtral(Fields r) => new()
    {
        Family = MoeFamily.Mixtral,
        Hidden = r.Int("hidden_size"),
        Experts = r.Int("num_local_experts"),
        TopK = r.Int("num_experts_per_tok"),
        ExpertWidth = r.Int("intermediate_size"),
        Score = ScoreFunc.Softmax,
        Normalize = true,
        NormEpsilon = 0f,
        Layers = r.Int("num_hidden_layers", 0),
    };

    private static MoeConfig Qwen2Moe(Fields r)
    {
        int shared = r.Int("shared_expert_intermediate_size", 0);
        return new MoeConfig
        {
            Family = MoeFamily.Qwen2Moe,
            Hidden = r.Int("hidden_size"),
            Experts = r.Int("num_experts"),
            TopK = r.Int("num_experts_per_tok"),
            ExpertWidth = r.Int("moe_intermediate_size"),
            SharedWidth = shared,
            SharedExpertGate = shared > 0,
            Score = ScoreFunc.Softmax,
            Normalize = r.Bool("norm_topk_prob", false),
            NormEpsilon = 0f,
            Layers = r.Int("num_hidden_layers", 0),
        };
    }

    private static ScoreFunc ParseScore(Fields r, string name) => name switch
    {
        "softmax" => ScoreFunc.Softmax,
        "sigmoid" => ScoreFunc.Sigmoid,
        "sqrtsoftplus" => ScoreFunc.SqrtSoftplus,
        _ => throw new ConfigException($"'{r.Source}': scoring_func '{name}' is unknown; use softmax, sigmoid or sqrtsoftplus."),
    };

    private sealed class Fields(JsonElement root, string source)
    {
        public string Source => source;

        public bool Has(string name) => root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

        public int Int(string name, int? fallback = null)
        {
            if (!Has(name))
            {
                return fallback ?? throw new ConfigException($"'{source}' lacks the field '{name}', which this model type needs.");
            }

            var v = root.GetProperty(name);
            if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i))
            {
                return i;
            }

            throw new ConfigException($"'{source}': '{name}' must be an integer but is {v.GetRawText()}.");
        }

        public float Float(string name, float? fallback = null)
        {
            if (!Has(name))
            {
                return fallback ?? throw new ConfigException($"'{source}' lacks the field '{name}', which this model type needs.");
            }

            var v = root.GetProperty(name);
            if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d))
            {
                return (float)d;
            }

            throw new ConfigException($"'{source}': '{name}' must be a finite number but is {v.GetRawText()}.");
        }

        public bool Bool(string name, bool fallback)
        {
            if (!Has(name))
            {
                return fallback;
            }

            var v = root.GetProperty(name);
            return v.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw new ConfigException($"'{source}': '{name}' must be true or false but is {v.GetRawText()}."),
            };
        }

        public string? String(string name, string? fallback)
        {
            if (!Has(name))
            {
                return fallback;
            }

            var v = root.GetProperty(name);
            return v.ValueKind == JsonValueKind.String
                ? v.GetString()
                : throw new ConfigException($"'{source}': '{name}' must be a string but is {v.GetRawText()}.");
        }
    }
}
