namespace Accel.Graph;

public sealed partial class GraphBuilder
{
    /// <summary>OP-1.</summary>
    public Value RmsNorm(string name, Value x, Value weight, float epsilon = 1e-6f) =>
        Add(OpKind.RmsNorm, name, new RmsNormAttributes(epsilon), x, weight)[0];

    /// <summary>OP-2.</summary>
    public Value RouterGemm(string name, Value x, Value routerWeight) =>
        Add(OpKind.RouterGemm, name, NoAttributes.Instance, x, routerWeight)[0];

    /// <summary>OP-3.</summary>
    public Value RouterScore(string name, Value logits, ScoreFunc function) =>
        Add(OpKind.RouterScore, name, new RouterScoreAttributes(function), logits)[0];

    /// <summary>OP-4.</summary>
    public Value SelectionBias(string name, Value scores, Value bias) =>
        Add(OpKind.SelectionBias, name, NoAttributes.Instance, scores, bias)[0];

    /// <summary>OP-5.</summary>
    public Value GroupLimitMask(string name, Value scores, int groups, int topGroups, GroupScore score) =>
        Add(OpKind.GroupLimitMask, name, new GroupLimitAttributes(groups, topGroups, score), scores)[0];

    /// <summary>OP-6.</summary>
    public Value TopK(string name, Value scores, int k) =>
        Add(OpKind.TopK, name, new TopKAttributes(k), scores)[0];

    /// <summary>OP-7.</summary>
    public Value HashRoute(string name, Value tokenIds, Value table, int experts) =>
        Add(OpKind.HashRoute, name, new HashRouteAttributes(experts), tokenIds, table)[0];

    /// <summary>OP-8.</summary>
    public Value RouteWeights(string name, Value scores, Value topkIds, bool normalize, float scale, float epsilon) =>
        Add(OpKind.RouteWeights, name, new RouteWeightsAttributes(normalize, scale, epsilon), scores, topkIds)[0];

    /// <summary>OP-9a.</summary>
    public Value ExpertHistogram(string name, Value topkIds, int experts) =>
        Add(OpKind.ExpertHistogram, name, new HistogramAttributes(experts), topkIds)[0];

    /// <summary>OP-9b.</summary>
    public Value ExclusiveScan(string name, Value counts, int experts, int alignment) =>
        Add(OpKind.ExclusiveScan, name, new SegmentAttributes(experts, alignment), counts)[0];

    /// <summary>OP-10: returns (pos_to_token, pos_to_slot, token_slot_to_pos).</summary>
    public (Value PosToToken, Value PosToSlot, Value TokenSlotToPos) BuildPermutation(
        string name, Value topkIds, Value offsets, int experts, int alignment)
    {
        var o = Add(OpKind.BuildPermutation, name, new SegmentAttributes(experts, alignment), topkIds, offsets);
        return (o[0], o[1], o[2]);
    }

    /// <summary>OP-11.</summary>
    public Value Permute(string name, Value x, Value posToToken) =>
        Add(OpKind.Permute, name, NoAttributes.Instance, x, posToToken)[0];

    /// <summary>OP-12.</summary>
    public Value GroupedGemm(string name, Value rows, Value weight, Value? scale, Value offsets) =>
        Add(OpKind.GroupedGemm, name, NoAttributes.Instance, rows, weight, scale, offsets)[0];

    /// <summary>OP-13. The row weight is applied when <paramref name="routeWeights"/> is given.</summary>
    public Value SwiGlu(string name, Value gate, Value up, float? limit,
        Value? routeWeights = null, Value? posToToken = null, Value? posToSlot = null) =>
        Add(OpKind.SwiGlu, name, new SwiGluAttributes(limit), gate, up, routeWeights, posToToken, posToSlot)[0];

    /// <summary>OP-14.</summary>
    public Value Unpermute(string name, Value rows, Value tokenSlotToPos, Value? routeWeights) =>
        Add(OpKind.Unpermute, name, new UnpermuteAttributes(routeWeights is not null), rows, tokenSlotToPos, routeWeights)[0];

    /// <summary>OP-15.</summary>
    public Value SharedExpert(string name, Value x, ProjectionWeights gate, ProjectionWeights up,
        ProjectionWeights down, float? limit, Value? expertGate = null) =>
        Add(OpKind.SharedExpert, name, new SwiGluAttributes(limit),
            x, gate.Weight, gate.Scale, up.Weight, up.Scale, down.Weight, down.Scale, expertGate)[0];

    /// <summary>OP-16.</summary>
    public Value Sum(string name, Value a, Value b) => Add(OpKind.Add, name, NoAttributes.Instance, a, b)[0];

    /// <summary>OP-17a.</summary>
    public Value DequantFp8Block(string name, Value weight, Value scale) =>
        Add(OpKind.DequantFp8Block, name, NoAttributes.Instance, weight, scale)[0];

    /// <summary>OP-17b.</summary>
    public Value DequantFp4(string name, Value weight, Value scale) =>
        Add(OpKind.DequantFp4, name, NoAttributes.Instance, weight, scale)[0];

    /// <summary>OP-17c: returns (quantised values, scales).</summary>
    public (Value Quantized, Value Scale) ActQuantFp8(string name, Value x, bool powerOfTwoScales)
    {
        var o = Add(OpKind.ActQuantFp8, name, new ActQuantAttributes(powerOfTwoScales), x);
        return (o[0], o[1]);
    }
}

/// <summary>A projection weight and its optional quantisation scale.</summary>
/// <param name="Weight">The weight value.</param>
/// <param name="Scale">Its scale (FP8/FP4 weights), or null.</param>
public sealed record ProjectionWeights(Value Weight, Value? Scale = null);
