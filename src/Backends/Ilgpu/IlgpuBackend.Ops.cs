using Accel.Graph;
using Accel.Kernels;
using Accel.Types;

namespace Accel.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <inheritdoc/>
    protected override OpSupport SupportsCore(OpNode node, Graph.Graph graph)
    {
        DType? Type(int position) => node.HasInput(position) ? graph.Values[node.Inputs[position]].Type : null;
        string Name(int position) => OpSignatures.InputNames(node.Kind)[position];

        OpSupport FloatWeight(int position) =>
            Type(position) is not { } t || KernelCatalog.FloatFormats.Contains(KernelCatalog.FormatOf(t, null) ?? WeightFormat.Fp4)
                ? OpSupport.Yes
                : OpSupport.No($"'{Name(position)}' is {Type(position)?.ShortName()}; the ILGPU kernels read f32, bf16 or f16 here.");

        OpSupport Weight(int weight, int scale) => Type(weight) is { } t && KernelCatalog.FormatOf(t, Type(scale)) is null
            ? OpSupport.No($"'{Name(weight)}' is {t.ShortName()} with scale {Type(scale)?.ShortName() ?? "none"}; " +
                "the ILGPU kernels take f32, bf16, f16, f8e4m3 with f32 or ue8m0 block scales, or f4e2m1 with ue8m0 scales.")
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
            _ => OpSupport.No($"op {node.Kind} has no ILGPU kernel."),
        };
    }

    /// <summary>Launches the kernels of one node.</summary>
    private void Run(OpNode node, IlgpuBuffer?[] i, IlgpuBuffer[] o)
    {
        IlgpuBuffer In(int n) => i[n]!;
        switch (node.Kind)
        {
            case OpKind.RmsNorm: RmsNorm(node, In(0), In(1), o[0]); break;
            case OpKind.RouterGemm: RouterGemm(In(0), In(1), o[0]); break;
            case OpKind.RouterScore: RouterScore(node, In(0), o[0]); break;
            case OpKind.SelectionBias: SelectionBias(node, In(0), In(1), o[0]); break;
            case OpKind.GroupLimitMask: GroupLimitMask(node, In(0), o[0]); break;
            case OpKind.TopK: TopK(node, In(0), o[0]); break;
            case OpKind.HashRoute: HashRoute(node, In(0), In(1), o[0]); break;
            case OpKind.RouteWeights: RouteWeights(node, In(0), In(1), o[0]); break;
            case OpKind.ExpertHistogram: ExpertHistogram(node, In(0), o[0]); break;
            case OpKind.ExclusiveScan: ExclusiveScan(node, In(0), o[0]); break;
            case OpKind.BuildPermutation: BuildPermutation(node, In(0), In(1), o[0], o[1], o[2]); break;
            case OpKind.Permute: Permute(node, In(0), In(1), o[0]); break;
            case OpKind.GroupedGemm: GroupedGemm(In(0), In(1), i[2], In(3), o[0]); break;
            case OpKind.SwiGlu: SwiGlu(node, In(0), In(1), i[2], i[3], i[4], o[0]); break;
            case OpKind.Unpermute: Unpermute(node, In(0), In(1), i[2], o[0]); break;
            case OpKind.SharedExpert: SharedExpert(node, i, o[0]); break;
            case OpKind.Add: Add(node, In(0), In(1), o[0]); break;
            case OpKind.DequantFp8Block or OpKind.DequantFp4: Dequantize(In(0), In(1), o[0]); break;
            case OpKind.ActQuantFp8: ActQuantFp8(node, In(0), o[0], o[1]); break;
            default: throw new NotSupportedException($"op {node.Kind} has no ILGPU kernel.");
        }
    }
}
