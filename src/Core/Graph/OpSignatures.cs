using Accel.Errors;
using Accel.Types;

namespace Accel.Graph;

/// <summary>
/// The shape and dtype rules of every op: given a node and its inputs, the dtypes and shapes of
/// its outputs, or a <see cref="GraphValidationException"/> naming the node and what to fix.
/// </summary>
public static partial class OpSignatures
{
    /// <summary>Number of input positions of each op (optional ones included; from <see cref="OpSchemas"/>).</summary>
    public static int InputCount(OpKind kind) => OpSchemas.Of(kind).Inputs.Length;

    /// <summary>Names of the input positions, for messages and dumps (from <see cref="OpSchemas"/>).</summary>
    public static string[] InputNames(OpKind kind) => [.. OpSchemas.Of(kind).Inputs.Select(i => i.Name)];

    /// <summary>Which input positions are optional (from <see cref="OpSchemas"/>).</summary>
    public static bool IsOptional(OpKind kind, int position) => OpSchemas.Of(kind).Inputs[position].Optional;

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
