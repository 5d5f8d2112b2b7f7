using Accel.Graph;

namespace Accel.Moe;

/// <summary>Which model family's MoE block a config describes.</summary>
public enum MoeFamily
{
    /// <summary>DeepSeek-V2/V3 (softmax or sigmoid, optional bias and group-limited routing).</summary>
    DeepSeekV3,
    /// <summary>DeepSeek-V4 (sqrt-softplus, hash layers, SwiGLU clamp, weight before the down projection).</summary>
    DeepSeekV4,
    /// <summary>Mixtral (softmax, top-k, always renormalised).</summary>
    Mixtral,
    /// <summary>Qwen2-MoE (softmax, optional renormalisation, sigmoid-gated shared expert).</summary>
    Qwen2Moe,
}

/// <summary>
/// The MoE block of one model, independent of any layer: sizes and routing rules. Build one from a
/// Hugging Face config.json with <see cref="HfConfigReader"/> or set the fields directly.
/// </summary>
public sealed record MoeConfig
{
    /// <summary>Model family.</summary>
    public MoeFamily Family { get; init; }

    /// <summary>Hidden size D.</summary>
    public int Hidden { get; init; }

    /// <summary>Routed experts E.</summary>
    public int Experts { get; init; }

    /// <summary>Experts per token K.</summary>
    public int TopK { get; init; }

    /// <summary>Routed-expert intermediate size I.</summary>
    public int ExpertWidth { get; init; }

    /// <summary>Shared-expert intermediate size (0 = no shared expert).</summary>
    public int SharedWidth { get; init; }

    /// <summary>Router scoring function.</summary>
    public ScoreFunc Score { get; init; } = ScoreFunc.Softmax;

    /// <summary>Expert groups G (1 = no group-limited routing).</summary>
    public int Groups { get; init; } = 1;

    /// <summary>Groups kept per token.</summary>
    public int TopGroups { get; init; } = 1;

    /// <summary>Renormalise the K routing weights.</summary>
    public bool Normalize { get; init; }

    /// <summary>Added to the sum before renormalising.</summary>
    public float NormEpsilon { get; init; } = 1e-20f;

    /// <summary>Routed scaling factor s.</summary>
    public float RouteScale { get; init; } = 1f;

    /// <summary>SwiGLU clamp limit (null = none).</summary>
    public float? SwigluLimit { get; init; }

    /// <summary>Apply the routing weight before the down projection (DeepSeek-V4).</summary>
    public bool WeightBeforeDown { get; init; }

    /// <summary>Layers below this index route by token id (DeepSeek-V4 hash layers).</summary>
    public int HashLayers { get; init; }

    /// <summary>Vocabulary size (rows of the hash table).</summary>
    public int Vocab { get; init; }

    /// <summary>The shared expert is scaled by sigmoid(x · w_sg) (Qwen2-MoE).</summary>
    public bool SharedExpertGate { get; init; }

    /// <summary>Layers below this index are dense, not MoE (DeepSeek-V3 first_k_dense_replace).</summary>
    public int FirstDenseLayers { get; init; }

    /// <summary>Total decoder layers (0 = unknown).</summary>
    public int Layers { get; init; }

    /// <summary>Whether the router of non-hash layers has a selection bias (e_score_correction_bias).</summary>
    public bool SelectionBias { get; init; }

    /// <summary>Whether layer <paramref name="layer"/> routes by token id.</summary>
    public bool IsHashLayer(int layer) => layer < HashLayers;

    /// <summary>How groups are scored: top-2 sum when a selection bias exists, else max (DeepSeek-V3).</summary>
    public GroupScore GroupScoreFor(bool hasBias) => hasBias ? GroupScore.Top2Sum : GroupScore.Max;
}
