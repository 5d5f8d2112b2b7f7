namespace Accel.Moe;

/// <summary>
/// Canonical names of a MoE layer's weights inside Accel, and the Hugging Face checkpoint names
/// they come from for each family.
/// </summary>
public static class MoeWeightNames
{
    /// <summary>Router weight [E, D].</summary>
    public const string Router = "router.weight";

    /// <summary>Selection bias [E] (fp32).</summary>
    public const string RouterBias = "router.bias";

    /// <summary>Hash table [V, K] (i32).</summary>
    public const string HashTable = "router.tid2eid";

    /// <summary>Qwen2-MoE shared-expert gate [1, D].</summary>
    public const string SharedGate = "shared.expert_gate";

    /// <summary>Stacked routed-expert projection weight: <c>experts.{gate|up|down}.weight</c>.</summary>
    public static string Experts(string projection) => $"experts.{projection}.weight";

    /// <summary>Its scale: <c>experts.{gate|up|down}.scale</c>.</summary>
    public static string ExpertsScale(string projection) => $"experts.{projection}.scale";

    /// <summary>Shared-expert projection weight: <c>shared.{gate|up|down}.weight</c>.</summary>
    public static string Shared(string projection) => $"shared.{projection}.weight";

    /// <summary>Its scale.</summary>
    public static string SharedScale(string projection) => $"shared.{projection}.scale";

    /// <summary>The three projections of a SwiGLU expert.</summary>
    public static readonly string[] Projections = ["gate", "up", "down"];

    /// <summary>Checkpoint prefix of a layer's MoE block.</summary>
    public static string Prefix(MoeFamily family, int layer) => family == MoeFamily.Mixtral
        ? $"model.layers.{layer}.block_sparse_moe."
        : $"model.layers.{layer}.mlp.";

    /// <summary>Checkpoint name of routed expert <paramref name="e"/>'s projection weight.</summary>
    public static string HfExpert(MoeFamily family, int layer, int e, string projection) => family == MoeFamily.Mixtral
        ? $"{Prefix(family, layer)}experts.{e}.{projection switch { "gate" => "w1", "up" => "w3", _ => "w2" }}.weight"
        : $"{Prefix(family, layer)}experts.{e}.{projection}_proj.weight";

    /// <summary>Checkpoint name of the shared expert's projection weight.</summary>
    public static string HfShared(MoeFamily family, int layer, string projection) => family == MoeFamily.Qwen2Moe
        ? $"{Prefix(family, layer)}shared_expert.{projection}_proj.weight"
        : $"{Prefix(family, layer)}shared_experts.{projection}_proj.weight";

    /// <summary>Checkpoint names a weight's scale may have (<c>.weight_scale_inv</c>, then <c>.scale</c>).</summary>
    public static string[] HfScaleCandidates(string weightName) =>
        weightName.EndsWith(".weight", StringComparison.Ordinal)
            ? [weightName + "_scale_inv", weightName[..^".weight".Length] + ".scale"]
            : [weightName + "_scale_inv"];
}
