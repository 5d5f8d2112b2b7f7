using Accel.Graph;

namespace Accel.Moe;

/// <summary>Named layer shapes: the real models and small test-sized versions of each family.</summary>
public static class MoePresets
{
    /// <summary>DeepSeek-V4-Flash: hidden 4096, expert width 2048, 256 experts, top-6, one shared expert.</summary>
    public static MoeConfig DeepSeekV4Flash { get; } = new()
    {
        Family = MoeFamily.DeepSeekV4, Hidden = 4096, Experts = 256, TopK = 6, ExpertWidth = 2048, SharedWidth = 2048,
        Score = ScoreFunc.SqrtSoftplus, Normalize = true, RouteScale = 1.5f, SwigluLimit = 10f, WeightBeforeDown = true,
        HashLayers = 3, Vocab = 129280, SelectionBias = true, Layers = 43,
    };

    /// <summary>A scaled-down DeepSeek-V4 layer that runs in seconds everywhere (used by <c>accel run</c>).</summary>
    public static MoeConfig DeepSeekV4Mini { get; } = DeepSeekV4Flash with
    {
        Hidden = 128, Experts = 16, TopK = 4, ExpertWidth = 64, SharedWidth = 64, Vocab = 64, Layers = 8,
    };

    /// <summary>Spec test config (a): V3-like, sigmoid + bias, 16 experts in 4 groups, keep 2, K 4, s 2.5.</summary>
    public static MoeConfig DeepSeekV3Tiny { get; } = new()
    {
        Family = MoeFamily.DeepSeekV3, Hidden = 48, Experts = 16, TopK = 4, ExpertWidth = 40, SharedWidth = 40,
        Score = ScoreFunc.Sigmoid, Groups = 4, TopGroups = 2, Normalize = true, RouteScale = 2.5f, SelectionBias = true,
        FirstDenseLayers = 1, Layers = 4,
    };

    /// <summary>Spec test config (d)/(e): V4-like, sqrt-softplus + bias, K 6, clamp 10, hash layers 0..1.</summary>
    public static MoeConfig DeepSeekV4Tiny { get; } = DeepSeekV4Flash with
    {
        Hidden = 40, Experts = 12, TopK = 6, ExpertWidth = 36, SharedWidth = 36, HashLayers = 2, Vocab = 50, Layers = 4,
    };

    /// <summary>Spec test config (f): Mixtral-like, 8 experts, top-2.</summary>
    public static MoeConfig MixtralTiny { get; } = new()
    {
        Family = MoeFamily.Mixtral, Hidden = 32, Experts = 8, TopK = 2, ExpertWidth = 24, Score = ScoreFunc.Softmax,
        Normalize = true, NormEpsilon = 0, Layers = 2,
    };

    /// <summary>Qwen2-MoE-like: 6 experts, top-2 without renormalisation, gated shared expert.</summary>
    public static MoeConfig Qwen2MoeTiny { get; } = new()
    {
        Family = MoeFamily.Qwen2Moe, Hidden = 32, Experts = 6, TopK = 2, ExpertWidth = 20, SharedWidth = 28,
        SharedExpertGate = true, Score = ScoreFunc.Softmax, Normalize = false, NormEpsilon = 0, Layers = 2,
    };

    /// <summary>Every preset by name.</summary>
    public static IReadOnlyDictionary<string, MoeConfig> All { get; } = new Dictionary<string, MoeConfig>
    {
        ["deepseek-v4-flash"] = DeepSeekV4Flash,
        ["deepseek-v4-mini"] = DeepSeekV4Mini,
        ["deepseek-v3-tiny"] = DeepSeekV3Tiny,
        ["deepseek-v4-tiny"] = DeepSeekV4Tiny,
        ["mixtral-tiny"] = MixtralTiny,
        ["qwen2-moe-tiny"] = Qwen2MoeTiny,
    };
}
