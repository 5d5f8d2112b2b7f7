using Accel.Graph;
using Accel.Kernels;
using Accel.Types;

namespace Accel.Backends.KernelDispatch;

public sealed partial class KernelDispatcher
{
    /// <summary>Whether the kernels run <paramref name="node"/> (shared by the kernel backends). Never throws.</summary>
    public static OpSupport Supports(OpNode node, Graph.Graph graph)
    {
        DType? Type(int position) => node.HasInput(position) ? graph.Values[node.Inputs[position]].Type : null;
        string Name(int position) => OpSignatures.InputNames(node.Kind)[position];

        OpSupport FloatWeight(int position) =>
            Type(position) is not { } t || KernelCatalog.FloatFormats.Contains(KernelCatalog.FormatOf(t, null) ?? WeightFormat.Fp4)
                ? OpSupport.Yes
                : OpSupport.No($"'{Name(position)}' is {Type(position)?.ShortName()}; the kernels read f32, bf16 or f16 here.");

        OpSupport Weight(int weight, int scale) => Type(weight) is { } t && KernelCatalog.FormatOf(t, Type(scale)) is null
            ? OpSupport.No($"'{Name(weight)}' is {t.ShortName()} with scale {Type(scale)?.ShortName() ?? "none"}; " +
                "the kernels take f32, bf16, f16, f8e4m3 with f32 or ue8m0 block scales, or f4e2m1 with ue8m0 scales.")
            : OpSupport.Yes;

        static OpSupport All(params OpSupport[] checks) => checks.FirstOrDefault(c => !c.IsSupported, OpSupport.Yes);

        return node.Kind switch
        {
            OpKind.RmsNorm or OpKind.RouterGemm => FloatWeight(1),
            OpKind.GroupedGemm => Weight(1, 2),
            OpKind.SharedExpert => All(Weight(1, 2), Weight(3, 4), Weight(5, 6), FloatWeight(7)),
            OpKind.DequantFp8Block or OpKind.DequantFp4 => Weight(0, 1),
            OpKind.GroupLimitMask when ((GroupLimitAttributes)node.Attributes).Groups > TopKKernels.MaxExpertGroups =>
                OpSupport.No($"more than {TopKKernels.MaxExpertGroups} expert groups."),
            _ when Enum.IsDefined(node.Kind) => OpSupport.Yes,
            _ => OpSupport.No($"op {node.Kind} has no kernel."),
        };
    }

    private void RmsNorm(OpNode node, IDeviceBuffer x, IDeviceBuffer weight, IDeviceBuffer y)
    {
        int rows = Dim(x, 0), width = Dim(x, 1);
        if ((long)rows * width == 0)
        {
            return;
        }

        float eps = ((RmsNormAttributes)node.Attributes).Epsilon;
        var format = FloatFormat(weight);
        var w = format == WeightFormat.F32 ? F32(weight) : U16(weight);
        Launch(KernelCatalog.RmsNorm(RowGroup, format), PerRow(rows), F32(x), w, F32(y), width, eps);
    }

    private void RouterScore(OpNode node, IDeviceBuffer logits, IDeviceBuffer scores)
    {
        int rows = Dim(logits, 0), experts = Dim(logits, 1);
        if ((long)rows * experts == 0)
        {
            return;
        }

        int function = ((RouterScoreAttributes)node.Attributes).Function switch
        {
            ScoreFunc.Softmax => RouterKernels.Softmax,
            ScoreFunc.Sigmoid => RouterKernels.Sigmoid,
            _ => RouterKernels.SqrtSoftplus,
        };
        Launch(KernelCatalog.RowKernel(typeof(RouterKernels), nameof(RouterKernels.RouterScore), RowGroup), PerRow(rows),
            F32(logits), F32(scores), experts, function);
    }

    private void SelectionBias(OpNode node, IDeviceBuffer scores, IDeviceBuffer bias, IDeviceBuffer result)
    {
        int count = Count(node, scores.Desc.Shape.Elements);
        if (count == 0)
        {
            return;
        }

        Launch(KernelCatalog.Plain(typeof(RouterKernels), nameof(RouterKernels.SelectionBias)), Elementwise(count),
            F32(scores), F32(bias), F32(result), Dim(scores, 1), count);
    }

    private void GroupLimitMask(OpNode node, IDeviceBuffer scores, IDeviceBuffer result)
    {
        int rows = Dim(scores, 0), experts = Dim(scores, 1);
        if ((long)rows * experts == 0)
        {
            return;
        }

        var a = (GroupLimitAttributes)node.Attributes;
        Launch(KernelCatalog.RowKernel(typeof(TopKKernels), nameof(TopKKernels.GroupLimitMask), RowGroup), PerRow(rows),
            F32(scores), F32(result), experts, a.Groups, a.TopGroups, a.Score == GroupScore.Top2Sum ? 1 : 0);
    }

    private void TopK(OpNode node, IDeviceBuffer scores, IDeviceBuffer idx)
    {
        int rows = Dim(scores, 0), experts = Dim(scores, 1);
        if (rows == 0)
        {
            return;
        }

        int k = ((TopKAttributes)node.Attributes).K;
        Launch(KernelCatalog.RowKernel(typeof(TopKKernels), nameof(TopKKernels.TopK), RowGroup), PerRow(rows),
            F32(scores), I32(idx), experts, k);
    }

    private void HashRoute(OpNode node, IDeviceBuffer tokenIds, IDeviceBuffer table, IDeviceBuffer idx)
    {
        int tokens = Dim(tokenIds, 0), k = Dim(table, 1);
        if (tokens == 0)
        {
            return;
        }

        int experts = ((HashRouteAttributes)node.Attributes).Experts;
        var (status, tag) = StatusFor(node);
        Launch(KernelCatalog.Plain(typeof(RouterKernels), nameof(RouterKernels.HashRoute)), PerItem(tokens),
            I32(tokenIds), I32(table), I32(idx), tokens, k, experts, status, tag);
    }

    private void RouteWeights(OpNode node, IDeviceBuffer scores, IDeviceBuffer idx, IDeviceBuffer weights)
    {
        int tokens = Dim(idx, 0), k = Dim(idx, 1), experts = Dim(scores, 1);
        if ((long)tokens * k == 0)
        {
            return;
        }

        var a = (RouteWeightsAttributes)node.Attributes;
        var (status, tag) = StatusFor(node);
        Launch(KernelCatalog.Plain(typeof(RouterKernels), nameof(RouterKernels.RouteWeights)), PerItem(tokens),
            F32(scores), I32(idx), F32(weights), tokens, experts, k, a.Normalize ? 1 : 0, a.Scale, a.Epsilon, status, tag);
    }

    /// <summary>The format of an unscaled float weight (norm weight, router weight, gate vector).</summary>
    private static WeightFormat FloatFormat(IDeviceBuffer weight) =>
        KernelCatalog.FormatOf(weight.Desc.Type, null) is { } f && KernelCatalog.FloatFormats.Contains(f)
            ? f
            : throw new NotSupportedException($"weight '{weight.Desc.Name}' has dtype {weight.Desc.Type}, not f32, bf16 or f16.");
}
