using Accel.Errors;
using Accel.Types;

namespace Accel.Graph;

/// <summary>
/// The shape and dtype rules of every op: given a node and its inputs, the dtypes and shapes of
/// its outputs, or a <see cref="GraphValidationException"/> naming the node and what to fix.
/// </summary>
public static partial class OpSignatures
{
    /// <summary>Number of input positions of each op (optional ones included).</summary>
    public static int InputCount(OpKind kind) => kind switch
    {
        OpKind.RmsNorm or OpKind.RouterGemm or OpKind.SelectionBias or OpKind.HashRoute
            or OpKind.RouteWeights or OpKind.BuildPermutation or OpKind.Permute or OpKind.Add
            or OpKind.DequantFp8Block or OpKind.DequantFp4 => 2,
        OpKind.RouterScore or OpKind.GroupLimitMask or OpKind.TopK or OpKind.ExpertHistogram
            or OpKind.ExclusiveScan or OpKind.ActQuantFp8 => 1,
        OpKind.GroupedGemm => 4,
        OpKind.SwiGlu => 5,
        OpKind.Unpermute => 3,
        OpKind.SharedExpert => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Names of the input positions, for messages and dumps.</summary>
    public static string[] InputNames(OpKind kind) => kind switch
    {
        OpKind.RmsNorm => ["x", "weight"],
        OpKind.RouterGemm => ["x", "router_weight"],
        OpKind.RouterScore => ["logits"],
        OpKind.SelectionBias => ["scores", "bias"],
        OpKind.GroupLimitMask => ["selection_scores"],
        OpKind.TopK => ["selection_scores"],
        OpKind.HashRoute => ["token_ids", "tid2eid"],
        OpKind.RouteWeights => ["scores", "topk_ids"],
        OpKind.ExpertHistogram => ["topk_ids"],
        OpKind.ExclusiveScan => ["counts"],
        OpKind.BuildPermutation => ["topk_ids", "offsets"],
        OpKind.Permute => ["x", "pos_to_token"],
        OpKind.GroupedGemm => ["rows", "weight", "weight_scale", "offsets"],
        OpKind.SwiGlu => ["gate", "up", "route_weights", "pos_to_token", "pos_to_slot"],
        OpKind.Unpermute => ["rows", "token_slot_to_pos", "route_weights"],
        OpKind.SharedExpert => ["x", "gate_weight", "gate_scale", "up_weight", "up_scale", "down_weight", "down_scale", "expert_gate"],
        OpKind.Add => ["a", "b"],
        OpKind.DequantFp8Block => ["weight", "scale"],
        OpKind.DequantFp4 => ["weight", "scale"],
        OpKind.ActQuantFp8 => ["x"],
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Which input positions are optional.</summary>
    public static bool IsOptional(OpKind kind, int position) => (kind, position) switch
    {
        (OpKind.GroupedGemm, 2) => true,
        (OpKind.SwiGlu, >= 2) => true,
        (OpKind.Unpermute, 2) => true,
        (OpKind.SharedExpert, 2 or 4 or 6 or 7) => true,
        _ => false,
    };

    /// <summary>The dtypes a floating-point weight may be stored in.</summary>
    public static readonly DTypeSet WeightTypes =
        DTypeSet.F32 | DTypeSet.F16 | DTypeSet.BF16 | DTypeSet.F8E4M3 | DTypeSet.F4E2M1;

    /// <summary>Rows of an FP8 weight block and columns of an FP8 block (128).</summary>
    public const int Fp8Block = 128;

    /// <summary>Columns sharing one FP4 scale (32).</summary>
    public const int Fp4Block = 32;

    /// <summary>Infers the output dtypes and shapes of <paramref name="node"/>.</summary>
    public static IReadOnlyList<(DType Type, SymbolicShape Shape)> Infer(OpNode node, IReadOnlyList<Value?> inputs)
    {
        var c = new Checker(node, inputs);
        c.CheckPresence();
        return node.Kind switch
        {
            OpKind.RmsNorm => InferRmsNorm(c),
            OpKind.RouterGemm => InferRouterGemm(c),
            OpKind.RouterScore => [(DType.F32, c.Matrix(0, DType.F32).Shape)],
            OpKind.SelectionBias => InferSelectionBias(c),
            OpKind.GroupLimitMask => InferGroupLimit(c),
            OpKind.TopK => InferTopK(c),
            OpKind.HashRoute => InferHashRoute(c),
            OpKind.RouteWeights => InferRouteWeights(c),
            OpKind.ExpertHistogram => InferHistogram(c),
            OpKind.ExclusiveScan => InferScan(c),
            OpKind.BuildPermutation => InferPermutation(c),
            OpKind.Permute => InferPermute(c),
            OpKind.GroupedGemm => InferGroupedGemm(c),
            OpKind.SwiGlu => InferSwiGlu(c),
            OpKind.Unpermute => InferUnpermute(c),
            OpKind.SharedExpert => InferSharedExpert(c),
            OpKind.Add => InferAdd(c),
            OpKind.DequantFp8Block => InferDequantFp8(c),
            OpKind.DequantFp4 => InferDequantFp4(c),
            OpKind.ActQuantFp8 => InferActQuant(c),
            _ => throw new GraphValidationException(node.Name, $"op {node.Kind} has no shape rule."),
        };
    }

    /// <summary>Rows of a segment-padded buffer: T*K + E*(A-1).</summary>
    public static Dim PaddedRows(Dim tokens, int k, int experts, int alignment) =>
        tokens.Times(k).Plus((long)experts * (alignment - 1));

    /// <summary>Ceiling division.</summary>
    public static long CeilDiv(long a, long b) => (a + b - 1) / b;
}
