using Accel.Graph;
using Accel.Kernels;
using Accel.Types;

namespace Accel.Backends.KernelDispatch;

public sealed partial class KernelDispatcher
{
    /// <summary>
    /// The ops the kernels implement (shared by the kernel backends), with the weight formats and
    /// limits each accepts. An op without an entry plans onto the next backend of the chain.
    /// </summary>
    public static OpTable Table(string backend) => OpTable.For(backend)
        .With(OpKind.RouterScore, OpKind.SelectionBias, OpKind.TopK, OpKind.HashRoute, OpKind.RouteWeights,
            OpKind.ExpertHistogram, OpKind.ExclusiveScan, OpKind.BuildPermutation, OpKind.Permute, OpKind.SwiGlu,
            OpKind.Unpermute, OpKind.Add, OpKind.ActQuantFp8)
        .With(OpKind.RmsNorm, (n, g) => FloatWeight(n, g, 1))
        .With(OpKind.RouterGemm, (n, g) => FloatWeight(n, g, 1))
        .With(OpKind.GroupedGemm, (n, g) => Weight(n, g, 1))
        .With(OpKind.SharedExpert, (n, g) => All(Weight(n, g, 1), Weight(n, g, 3), Weight(n, g, 5), FloatWeight(n, g, 7)))
        .With(OpKind.DequantFp8Block, (n, g) => Weight(n, g, 0))
        .With(OpKind.DequantFp4, (n, g) => Weight(n, g, 0))
        .With(OpKind.GroupLimitMask, (n, _) => ((GroupLimitAttributes)n.Attributes).Groups > TopKKernels.MaxExpertGroups
            ? OpSupport.No($"more than {TopKKernels.MaxExpertGroups} expert groups.")
            : OpSupport.Yes);

    private static DType? TypeAt(OpNode node, Graph.Graph graph, int position) =>
        position >= 0 && node.HasInput(position) ? graph.Values[node.Inputs[position]].Type : null;

    private static string NameAt(OpNode node, int position) => OpSchemas.Of(node.Kind).Inputs[position].Name;

    private static OpSupport FloatWeight(OpNode node, Graph.Graph graph, int position) =>
        TypeAt(node, graph, position) is not { } t || KernelCatalog.FloatFormats.Contains(KernelCatalog.FormatOf(t, null) ?? WeightFormat.Fp4)
            ? OpSupport.Yes
            : OpSupport.No($"'{NameAt(node, position)}' is {t.ShortName()}; the kernels read f32, bf16 or f16 here.");

    /// <summary>A weight with the scale its schema pairs it with.</summary>
    private static OpSupport Weight(OpNode node, Graph.Graph graph, int weight)
    {
        var scale = TypeAt(node, graph, OpSchemas.Of(node.Kind).ScaleFor(weight));
        return TypeAt(node, graph, weight) is { } t && KernelCatalog.FormatOf(t, scale) is null
            ? OpSupport.No($"'{NameAt(node, weight)}' is {t.ShortName()} with scale {scale?.ShortName() ?? "none"}; " +
                "the kernels take f32, bf16, f16, f8e4m3 with f32 or ue8m0 block scales, or f4e2m1 with ue8m0 scales.")
            : OpSupport.Yes;
    }

    private static OpSupport All(params OpSupport[] checks) => checks.FirstOrDefault(c => !c.IsSupported, OpSupport.Yes);

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
