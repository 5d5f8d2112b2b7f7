using System.Text.Json;
using Accel.Errors;
using Accel.Graph;
using Accel.IO;

namespace Accel.Moe;

/// <summary>
/// Reads the MoE block of a Hugging Face <c>config.json</c> for DeepSeek-V3 (and V2), DeepSeek-V4,
/// Mixtral and Qwen2-MoE, with the routing rules each family's reference code applies. Every error
/// names the key as written in the file (e.g. <c>"n_routed_experts"</c> or
/// <c>"quantization_config.weight_block_size"</c>), what was expected and how to fix it.
/// </summary>
public static class HfConfigReader
{
    /// <summary>The FP8 block size Accel reads (<c>quantization_config.weight_block_size</c>).</summary>
    public const int Fp8BlockSize = 128;

    /// <summary>
    /// The config.json key of each <see cref="MoeConfig"/> property a family reads, by property name,
    /// so validation problems name the key to fix.
    /// </summary>
    private static readonly Dictionary<MoeFamily, IReadOnlyDictionary<string, string>> Keys = new()
    {
        [MoeFamily.DeepSeekV3] = KeyMap("n_routed_experts", "moe_intermediate_size",
            (nameof(MoeConfig.Groups), "n_group"), (nameof(MoeConfig.TopGroups), "topk_group"),
            (nameof(MoeConfig.RouteScale), "routed_scaling_factor"), (nameof(MoeConfig.FirstDenseLayers), "first_k_dense_replace")),
        [MoeFamily.DeepSeekV4] = KeyMap("n_routed_experts", "moe_intermediate_size",
            (nameof(MoeConfig.RouteScale), "routed_scaling_factor"), (nameof(MoeConfig.SwigluLimit), "swiglu_limit"),
            (nameof(MoeConfig.HashLayers), "num_hash_layers"), (nameof(MoeConfig.Vocab), "vocab_size")),
        [MoeFamily.Mixtral] = KeyMap("num_local_experts", "intermediate_size"),
        [MoeFamily.Qwen2Moe] = KeyMap("num_experts", "moe_intermediate_size",
            (nameof(MoeConfig.SharedWidth), "shared_expert_intermediate_size")),
    };

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
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new ConfigException($"'{source}' is not valid JSON ({JsonErrorText.Where(e)}): {JsonErrorText.Reason(e)} Fix the JSON syntax there.");
        }
        catch (ArgumentException)
        {
            // Text that is not valid UTF-16 (a lone surrogate) cannot even be handed to the reader.
            throw new ConfigException($"'{source}' {JsonErrorText.InvalidText}; save it as UTF-8.");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ConfigException($"'{source}' must hold a JSON object ({{ \"model_type\": ..., ... }}) but holds {ConfigFields.Describe(doc.RootElement)}.");
            }

            var r = new ConfigFields(doc.RootElement, source, "");
            string modelType = r.Has("model_type")
                ? r.String("model_type", "")
                : throw new ConfigException($"'{source}' lacks the key \"model_type\"; {SupportedModels}. Add the model's \"model_type\".");
            var config = modelType switch
            {
                "deepseek_v3" or "deepseek_v2" => DeepSeekV3(r),
                "deepseek_v4" => DeepSeekV4(r),
                "mixtral" => Mixtral(r),
                "qwen2_moe" => Qwen2Moe(r),
                _ => throw new ConfigException(
                    $"'{source}' has \"model_type\" '{JsonErrorText.Shorten(modelType)}'; {SupportedModels}."),
            };
            CheckQuantization(r);
            return MoeConfigValidator.Validate(config, $"config '{source}'", Keys[config.Family]);
        }
    }

    private const string SupportedModels = "supported MoE models are deepseek_v2, deepseek_v3, deepseek_v4, mixtral and qwen2_moe";

    private static MoeConfig DeepSeekV3(ConfigFields r)
    {
        var score = ParseScore(r, "softmax");
        string topkMethod = r.String("topk_method", "greedy");
        if (topkMethod is not ("greedy" or "group_limited_greedy" or "noaux_tc"))
        {
            throw r.Error("topk_method", $"is '{JsonErrorText.Shorten(topkMethod)}', which is unknown; use \"greedy\", " +
                "\"group_limited_greedy\" or \"noaux_tc\" (routing with a selection bias).");
        }

        bool bias = topkMethod == "noaux_tc";
        int width = r.Int("moe_intermediate_size");
        int shared = r.Int("n_shared_experts", 0);
        if (shared < 0)
        {
            throw r.Error("n_shared_experts", $"must not be negative but is {shared}; set it to the number of shared experts (0 for none).");
        }

        // A non-positive width is reported by the validator under its own key; the shared width
        // derived from it would only repeat that problem under no key.
        long sharedWidth = (long)shared * Math.Max(width, 0);
        if (sharedWidth > int.MaxValue)
        {
            throw r.Error("n_shared_experts", $"is {shared}, which times \"moe_intermediate_size\" ({width}) gives a shared-expert width of {sharedWidth}, " +
                "too large for a 32-bit size; check both keys.");
        }

        return new MoeConfig
        {
            Family = MoeFamily.DeepSeekV3,
            Hidden = r.Int("hidden_size"),
            Experts = r.Int("n_routed_experts"),
            TopK = r.Int("num_experts_per_tok"),
            ExpertWidth = width,
            SharedWidth = (int)sharedWidth,
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

    private static MoeConfig DeepSeekV4(ConfigFields r)
    {
        int shared = r.Int("n_shared_experts", 1);
        if (shared is not (0 or 1))
        {
            throw r.Error("n_shared_experts", $"is {shared}, but DeepSeek-V4 has at most one shared expert; set it to 0 or 1.");
        }

        var score = ParseScore(r, "sqrtsoftplus");
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
            // The reference code clamps only when the limit is positive; 0 (or less) means no clamp.
            SwigluLimit = limit is > 0 ? limit : null,
            WeightBeforeDown = true,
            HashLayers = hashLayers,
            // Hash layers index a [vocab_size, K] table, so the key is required when there are any.
            Vocab = hashLayers > 0 ? r.Int("vocab_size") : r.Int("vocab_size", 0),
            SelectionBias = true,
            Layers = r.Int("num_hidden_layers", 0),
        };
    }

    private static MoeConfig Mixtral(ConfigFields r) => new()
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

    private static MoeConfig Qwen2Moe(ConfigFields r)
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

    private static ScoreFunc ParseScore(ConfigFields r, string fallback)
    {
        string name = r.String("scoring_func", fallback);
        return name switch
        {
            "softmax" => ScoreFunc.Softmax,
            "sigmoid" => ScoreFunc.Sigmoid,
            "sqrtsoftplus" => ScoreFunc.SqrtSoftplus,
            _ => throw r.Error("scoring_func", $"is '{JsonErrorText.Shorten(name)}', which is unknown; use \"softmax\", \"sigmoid\" or \"sqrtsoftplus\"."),
        };
    }

    /// <summary>
    /// Checks <c>quantization_config.weight_block_size</c> where present: FP8 checkpoints are read
    /// with one scale per 128 x 128 block, so any other block size would pair weights with the wrong scales.
    /// </summary>
    private static void CheckQuantization(ConfigFields r)
    {
        if (r.Object("quantization_config") is not { } q || !q.Has("weight_block_size"))
        {
            return;
        }

        int[] block = q.PositiveInts("weight_block_size", 2, "[rows, columns], e.g. [128, 128]");
        if (block[0] != Fp8BlockSize || block[1] != Fp8BlockSize)
        {
            throw q.Error("weight_block_size",
                $"is [{block[0]}, {block[1]}], but Accel reads FP8 weights with one scale per {Fp8BlockSize} x {Fp8BlockSize} block; " +
                $"use a checkpoint quantised with weight_block_size [{Fp8BlockSize}, {Fp8BlockSize}].");
        }
    }

    private static IReadOnlyDictionary<string, string> KeyMap(string experts, string expertWidth, params (string Property, string Key)[] more)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [nameof(MoeConfig.Hidden)] = "hidden_size",
            [nameof(MoeConfig.Experts)] = experts,
            [nameof(MoeConfig.TopK)] = "num_experts_per_tok",
            [nameof(MoeConfig.ExpertWidth)] = expertWidth,
            [nameof(MoeConfig.Layers)] = "num_hidden_layers",
        };
        foreach (var (property, key) in more)
        {
            map[property] = key;
        }

        return map;
    }
}
