using System.Collections.Immutable;
using Accel.Types;

namespace Accel.Graph;

/// <summary>What an op input holds, which decides how backends treat it.</summary>
public enum InputRole
{
    /// <summary>Floating-point data computed per run (hidden states, scores, expert rows).</summary>
    Activation,
    /// <summary>A stored matrix (or stack of expert matrices) of a product; may be quantised and have a <see cref="Scale"/>.</summary>
    Weight,
    /// <summary>The block scales of a <see cref="Weight"/> (see <see cref="InputSchema.ScaleOf"/>).</summary>
    Scale,
    /// <summary>Another stored tensor: a norm weight, a selection bias, a shared-expert gate, a hash table.</summary>
    Parameter,
    /// <summary>Integer routing data computed per run (expert ids, offsets, positions).</summary>
    Index,
}

/// <summary>One input position of an op.</summary>
/// <param name="Name">The position's name, used in messages and dumps (e.g. <c>weight_scale</c>).</param>
/// <param name="Role">What it holds.</param>
/// <param name="Optional">Whether a node may leave it unconnected (<c>-1</c>).</param>
/// <param name="ScaleOf">For a <see cref="InputRole.Scale"/>: the position of the weight it scales; otherwise -1.</param>
public sealed record InputSchema(string Name, InputRole Role, bool Optional = false, int ScaleOf = -1);

/// <summary>
/// The schema of one op: its inputs (name, role, optional, scale pairing), its outputs and its shape
/// and dtype rule (<see cref="OpSignatures.Infer"/>). One table for the whole op set
/// (<see cref="OpSchemas"/>); backends and passes read positions from here instead of repeating them.
/// </summary>
/// <param name="Kind">The op.</param>
/// <param name="Inputs">The input positions in order.</param>
/// <param name="Outputs">The output names in order.</param>
public sealed record OpSchema(OpKind Kind, ImmutableArray<InputSchema> Inputs, ImmutableArray<string> Outputs)
{
    /// <summary>Positions of the given role, in order.</summary>
    public IEnumerable<int> Positions(InputRole role) =>
        Enumerable.Range(0, Inputs.Length).Where(i => Inputs[i].Role == role);

    /// <summary>The stored inputs a device may need to convert: every weight with its scale's position (-1 when it has none), then every parameter with -1.</summary>
    public IEnumerable<(int Weight, int Scale)> StoredInputs =>
        Positions(InputRole.Weight).Select(w => (w, ScaleFor(w)))
            .Concat(Positions(InputRole.Parameter).Select(p => (p, -1)));

    /// <summary>The position of the scale of the weight at <paramref name="weight"/>, or -1.</summary>
    public int ScaleFor(int weight)
    {
        for (int i = 0; i < Inputs.Length; i++)
        {
            if (Inputs[i].Role == InputRole.Scale && Inputs[i].ScaleOf == weight)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>True when <paramref name="position"/> holds a product's weight matrix.</summary>
    public bool IsWeight(int position) => position >= 0 && position < Inputs.Length && Inputs[position].Role == InputRole.Weight;
}

/// <summary>The schema of every op of the set (moe-spec OP-1 .. OP-17).</summary>
public static class OpSchemas
{
    private static InputSchema Act(string name, bool optional = false) => new(name, InputRole.Activation, optional);

    private static InputSchema Weight(string name) => new(name, InputRole.Weight);

    private static InputSchema Scale(string name, int of) => new(name, InputRole.Scale, Optional: true, ScaleOf: of);

    private static InputSchema Param(string name, bool optional = false) => new(name, InputRole.Parameter, optional);

    private static InputSchema Idx(string name, bool optional = false) => new(name, InputRole.Index, optional);

    private static OpSchema S(OpKind kind, InputSchema[] inputs, params string[] outputs) => new(kind, [.. inputs], [.. outputs]);

    private static readonly ImmutableDictionary<OpKind, OpSchema> Table = new[]
    {
        S(OpKind.RmsNorm, [Act("x"), Param("weight")], "y"),
        S(OpKind.RouterGemm, [Act("x"), Weight("router_weight")], "logits"),
        S(OpKind.RouterScore, [Act("logits")], "scores"),
        S(OpKind.SelectionBias, [Act("scores"), Param("bias")], "selection_scores"),
        S(OpKind.GroupLimitMask, [Act("selection_scores")], "masked_scores"),
        S(OpKind.TopK, [Act("selection_scores")], "topk_ids"),
        S(OpKind.HashRoute, [Idx("token_ids"), Param("tid2eid")], "topk_ids"),
        S(OpKind.RouteWeights, [Act("scores"), Idx("topk_ids")], "topk_weights"),
        S(OpKind.ExpertHistogram, [Idx("topk_ids")], "counts"),
        S(OpKind.ExclusiveScan, [Idx("counts")], "offsets"),
        S(OpKind.BuildPermutation, [Idx("topk_ids"), Idx("offsets")], "pos_to_token", "pos_to_slot", "token_slot_to_pos"),
        S(OpKind.Permute, [Act("x"), Idx("pos_to_token")], "rows"),
        S(OpKind.GroupedGemm, [Act("rows"), Weight("weight"), Scale("weight_scale", 1), Idx("offsets")], "y"),
        S(OpKind.SwiGlu, [Act("gate"), Act("up"), Act("route_weights", true), Idx("pos_to_token", true), Idx("pos_to_slot", true)], "h"),
        S(OpKind.Unpermute, [Act("rows"), Idx("token_slot_to_pos"), Act("route_weights", true)], "y"),
        S(OpKind.SharedExpert, [Act("x"), Weight("gate_weight"), Scale("gate_scale", 1), Weight("up_weight"), Scale("up_scale", 3),
            Weight("down_weight"), Scale("down_scale", 5), Param("expert_gate", true)], "y"),
        S(OpKind.Add, [Act("a"), Act("b")], "sum"),
        S(OpKind.DequantFp8Block, [Weight("weight"), new InputSchema("scale", InputRole.Scale, ScaleOf: 0)], "dequantized"),
        S(OpKind.DequantFp4, [Weight("weight"), new InputSchema("scale", InputRole.Scale, ScaleOf: 0)], "dequantized"),
        S(OpKind.ActQuantFp8, [Act("x")], "q", "scales"),
    }.ToImmutableDictionary(s => s.Kind);

    /// <summary>
    /// The ops of moe-spec section 5 (OP-1 .. OP-17), which a backend that implements the whole
    /// specification names in its table. An op added later is not in this list, so it is supported
    /// only where a backend adds it explicitly.
    /// </summary>
    public static IReadOnlyList<OpKind> MoeSpecOps { get; } =
    [
        OpKind.RmsNorm, OpKind.RouterGemm, OpKind.RouterScore, OpKind.SelectionBias, OpKind.GroupLimitMask, OpKind.TopK,
        OpKind.HashRoute, OpKind.RouteWeights, OpKind.ExpertHistogram, OpKind.ExclusiveScan, OpKind.BuildPermutation,
        OpKind.Permute, OpKind.GroupedGemm, OpKind.SwiGlu, OpKind.Unpermute, OpKind.SharedExpert, OpKind.Add,
        OpKind.DequantFp8Block, OpKind.DequantFp4, OpKind.ActQuantFp8,
    ];

    /// <summary>Every schema, in op-set order.</summary>
    public static IReadOnlyList<OpSchema> All { get; } = [.. Enum.GetValues<OpKind>().Select(Of)];

    /// <summary>The schema of <paramref name="kind"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The op has no schema (a new op must be added to this table).</exception>
    public static OpSchema Of(OpKind kind) => Table.TryGetValue(kind, out var s)
        ? s
        : throw new ArgumentOutOfRangeException(nameof(kind), kind, $"op {kind} has no schema; add it to {nameof(OpSchemas)}.");
}
