namespace Accel.Graph;

/// <summary>Scoring function of the router (OP-3).</summary>
public enum ScoreFunc
{
    /// <summary>Softmax over all experts.</summary>
    Softmax,
    /// <summary>Logistic sigmoid per expert.</summary>
    Sigmoid,
    /// <summary>sqrt(softplus(z)), softplus(z) = z above 20 (DeepSeek-V4).</summary>
    SqrtSoftplus,
}

/// <summary>How a group of experts is scored for group-limited routing (OP-5).</summary>
public enum GroupScore
{
    /// <summary>The largest selection score in the group.</summary>
    Max,
    /// <summary>The sum of the two largest selection scores in the group.</summary>
    Top2Sum,
}

/// <summary>Attributes of an op node; each op has its own record (or <see cref="NoAttributes"/>).</summary>
public abstract record OpAttributes;

/// <summary>The op has no attributes.</summary>
public sealed record NoAttributes : OpAttributes
{
    /// <summary>The single instance.</summary>
    public static NoAttributes Instance { get; } = new();

    /// <inheritdoc/>
    public override string ToString() => "";
}

/// <summary>OP-1 attributes.</summary>
/// <param name="Epsilon">Added to the mean square (1e-6 in DeepSeek).</param>
public sealed record RmsNormAttributes(float Epsilon) : OpAttributes;

/// <summary>OP-3 attributes.</summary>
/// <param name="Function">The scoring function.</param>
public sealed record RouterScoreAttributes(ScoreFunc Function) : OpAttributes;

/// <summary>OP-5 attributes.</summary>
/// <param name="Groups">Number of expert groups G (divides the expert count).</param>
/// <param name="TopGroups">Groups kept per token, 1 to G.</param>
/// <param name="Score">How a group is scored.</param>
public sealed record GroupLimitAttributes(int Groups, int TopGroups, GroupScore Score) : OpAttributes;

/// <summary>OP-6 attributes.</summary>
/// <param name="K">Experts per token.</param>
public sealed record TopKAttributes(int K) : OpAttributes;

/// <summary>OP-7 attributes.</summary>
/// <param name="Experts">Number of routed experts; every table entry must be below it.</param>
public sealed record HashRouteAttributes(int Experts) : OpAttributes;

/// <summary>OP-8 attributes.</summary>
/// <param name="Normalize">Divide by the sum of the K gathered scores.</param>
/// <param name="Scale">Routed scaling factor, applied last.</param>
/// <param name="Epsilon">Added to the sum before dividing (0 in DeepSeek's reference, 1e-20 in production kernels).</param>
public sealed record RouteWeightsAttributes(bool Normalize, float Scale, float Epsilon) : OpAttributes;

/// <summary>OP-9 attributes (histogram).</summary>
/// <param name="Experts">Number of experts E.</param>
public sealed record HistogramAttributes(int Experts) : OpAttributes;

/// <summary>OP-9/10 attributes: segment alignment.</summary>
/// <param name="Experts">Number of experts E.</param>
/// <param name="Alignment">Each expert segment is padded to a multiple of this many rows (1 = no padding).</param>
public sealed record SegmentAttributes(int Experts, int Alignment) : OpAttributes;

/// <summary>OP-13 and OP-15 attributes.</summary>
/// <param name="Limit">SwiGLU clamp limit: gate &lt;= limit, |up| &lt;= limit; null for no clamp.</param>
public sealed record SwiGluAttributes(float? Limit) : OpAttributes;

/// <summary>OP-14 attributes.</summary>
/// <param name="UseWeights">Multiply each slot by its routing weight (false when OP-13 already did).</param>
public sealed record UnpermuteAttributes(bool UseWeights) : OpAttributes;

/// <summary>OP-17c attributes.</summary>
/// <param name="PowerOfTwoScales">Round scales up to powers of two (UE8M0 scale format).</param>
public sealed record ActQuantAttributes(bool PowerOfTwoScales) : OpAttributes;
