using Accel.Graph;
using Accel.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace Accel.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    private void RmsNorm(OpNode node, IlgpuBuffer x, IlgpuBuffer weight, IlgpuBuffer y)
    {
        int rows = x.Dim(0), width = x.Dim(1);
        if ((long)rows * width == 0)
        {
            return;
        }

        float eps = ((RmsNormAttributes)node.Attributes).Epsilon;
        var format = FloatFormat(weight);
        var method = KernelCatalog.RmsNorm(RowGroup, format);
        switch (format)
        {
            case WeightFormat.F32:
                Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int,
                    float>>(method)(
                    Stream, PerRow(rows), x.F32, weight.F32, y.F32, width, eps);
                break;
            default:
                Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<ushort>, ArrayView<float>, int,
                    float>>(method)(
                    Stream, PerRow(rows), x.F32, weight.As<ushort>(), y.F32, width, eps);
                break;
        }
    }

    private void RouterScore(OpNode node, IlgpuBuffer logits, IlgpuBuffer scores)
    {
        int rows = logits.Dim(0), experts = logits.Dim(1);
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
        var method = KernelCatalog.RowKernel(typeof(RouterKernels), nameof(RouterKernels.RouterScore), RowGroup);
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int>>(method)(
            Stream, PerRow(rows), logits.F32, scores.F32, experts, function);
    }

    private void SelectionBias(OpNode node, IlgpuBuffer scores, IlgpuBuffer bias, IlgpuBuffer result)
    {
        int count = Count(node, scores.Desc.Shape.Elements);
        if (count == 0)
        {
            return;
        }

        var method = KernelCatalog.Plain(typeof(RouterKernels), nameof(RouterKernels.SelectionBias));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>>(method)(
            Stream, Elementwise(count), scores.F32, bias.F32, result.F32, scores.Dim(1), count);
    }

    private void GroupLimitMask(OpNode node, IlgpuBuffer scores, IlgpuBuffer result)
    {
        int rows = scores.Dim(0), experts = scores.Dim(1);
        if ((long)rows * experts == 0)
        {
            return;
        }

        var a = (GroupLimitAttributes)node.Attributes;
        var method = KernelCatalog.RowKernel(typeof(TopKKernels), nameof(TopKKernels.GroupLimitMask), RowGroup);
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int, int>>(method)(
            Stream, PerRow(rows), scores.F32, result.F32, experts, a.Groups, a.TopGroups, a.Score == GroupScore.Top2Sum ? 1 : 0);
    }

    private void TopK(OpNode node, IlgpuBuffer scores, IlgpuBuffer idx)
    {
        int rows = scores.Dim(0), experts = scores.Dim(1);
        if (rows == 0)
        {
            return;
        }

        int k = ((TopKAttributes)node.Attributes).K;
        var method = KernelCatalog.RowKernel(typeof(TopKKernels), nameof(TopKKernels.TopK), RowGroup);
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, int, int>>(method)(
            Stream, PerRow(rows), scores.F32, idx.I32, experts, k);
    }

    private void HashRoute(OpNode node, IlgpuBuffer tokenIds, IlgpuBuffer table, IlgpuBuffer idx)
    {
        int tokens = tokenIds.Dim(0), k = table.Dim(1);
        if (tokens == 0)
        {
            return;
        }

        int experts = ((HashRouteAttributes)node.Attributes).Experts;
        var (status, tag) = StatusFor(node);
        var method = KernelCatalog.Plain(typeof(RouterKernels), nameof(RouterKernels.HashRoute));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int,
            ArrayView<int>, int>>(method)(
            Stream, PerItem(tokens), tokenIds.I32, table.I32, idx.I32, tokens, k, experts, status, tag);
    }

    private void RouteWeights(OpNode node, IlgpuBuffer scores, IlgpuBuffer idx, IlgpuBuffer weights)
    {
        int tokens = idx.Dim(0), k = idx.Dim(1), experts = scores.Dim(1);
        if ((long)tokens * k == 0)
        {
            return;
        }

        var a = (RouteWeightsAttributes)node.Attributes;
        var (status, tag) = StatusFor(node);
        var method = KernelCatalog.Plain(typeof(RouterKernels), nameof(RouterKernels.RouteWeights));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int,
            int, float, float, ArrayView<int>, int>>(method)(
            Stream, PerItem(tokens), scores.F32, idx.I32, weights.F32, tokens, experts, k, a.Normalize ? 1 : 0, a.Scale,
            a.Epsilon, status, tag);
    }

    /// <summary>The format of an unscaled float weight (norm weight, router weight, gate vector).</summary>
    private static WeightFormat FloatFormat(IlgpuBuffer weight) =>
        KernelCatalog.FormatOf(weight.Desc.Type, null) is { } f && KernelCatalog.FloatFormats.Contains(f)
            ? f
            : throw new NotSupportedException($"weight '{weight.Desc.Name}' has dtype {weight.Desc.Type}, not f32, bf16 or f16.");
}
