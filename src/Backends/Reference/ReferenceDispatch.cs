using Accel.Graph;
using Accel.Types;
using Buf = Accel.Backends.Reference.ReferenceBackend.HostBuffer;

namespace Accel.Backends.Reference;

/// <summary>Maps a node and its host buffers onto the matching <see cref="ReferenceOps"/> method.</summary>
internal static class ReferenceDispatch
{
    public static void Execute(OpNode node, Buf?[] i, Buf[] o)
    {
        Buf In(int n) => i[n]!;
        int Dim(Buf b, int axis) => (int)b.Desc.Shape[axis];
        switch (node.Kind)
        {
            case OpKind.RmsNorm:
                ReferenceOps.RmsNorm(In(0).F32, ToF32(In(1)), o[0].F32, Dim(In(0), 1), ((RmsNormAttributes)node.Attributes).Epsilon);
                break;
            case OpKind.RouterGemm:
                ReferenceOps.RouterGemm(In(0).F32, ToF32(In(1)), o[0].F32, Dim(In(0), 1), Dim(In(1), 0));
                break;
            case OpKind.RouterScore:
                ReferenceOps.RouterScore(In(0).F32, o[0].F32, Dim(In(0), 1), ((RouterScoreAttributes)node.Attributes).Function);
                break;
            case OpKind.SelectionBias:
                ReferenceOps.SelectionBias(In(0).F32, In(1).F32, o[0].F32, Dim(In(0), 1));
                break;
            case OpKind.GroupLimitMask:
                {
                    var a = (GroupLimitAttributes)node.Attributes;
                    ReferenceOps.GroupLimitMask(In(0).F32, o[0].F32, Dim(In(0), 1), a.Groups, a.TopGroups, a.Score);
                    break;
                }

            case OpKind.TopK:
                ReferenceOps.TopK(In(0).F32, o[0].I32, Dim(In(0), 1), ((TopKAttributes)node.Attributes).K);
                break;
            case OpKind.HashRoute:
                ReferenceOps.HashRoute(In(0).I32, In(1).I32, o[0].I32, Dim(In(1), 1), ((HashRouteAttributes)node.Attributes).Experts);
                break;
            case OpKind.RouteWeights:
                {
                    var a = (RouteWeightsAttributes)node.Attributes;
                    ReferenceOps.RouteWeights(In(0).F32, In(1).I32, o[0].F32, Dim(In(0), 1), Dim(In(1), 1), a.Normalize, a.Scale, a.Epsilon);
                    break;
                }

            case OpKind.ExpertHistogram:
                ReferenceOps.ExpertHistogram(In(0).I32, o[0].I32);
                break;
            case OpKind.ExclusiveScan:
                ReferenceOps.ExclusiveScan(In(0).I32, o[0].I32, ((SegmentAttributes)node.Attributes).Alignment);
                break;
            case OpKind.BuildPermutation:
                ReferenceOps.BuildPermutation(In(0).I32, In(1).I32, o[0].I32, o[1].I32, o[2].I32, Dim(In(0), 1));
                break;
            case OpKind.Permute:
                ReferenceOps.Permute(In(0).F32, In(1).I32, o[0].F32, Dim(In(0), 1));
                break;
            case OpKind.GroupedGemm:
                ReferenceOps.GroupedGemm(In(0).F32, View(In(1), i[2], stacked: true), In(3).I32, o[0].F32);
                break;
            case OpKind.SwiGlu:
                {
                    var limit = ((SwiGluAttributes)node.Attributes).Limit;
                    bool weighted = i[2] is not null;
                    ReferenceOps.SwiGlu(In(0).F32, In(1).F32, o[0].F32, Dim(In(0), 1), limit, weighted,
                        weighted ? In(2).F32 : default, weighted ? In(3).I32 : default, weighted ? In(4).I32 : default,
                        weighted ? Dim(In(2), 1) : 0);
                    break;
                }

            case OpKind.Unpermute:
                ReferenceOps.Unpermute(In(0).F32, In(1).I32, i[2] is null ? default : In(2).F32, o[0].F32, Dim(In(0), 1), Dim(In(1), 1));
                break;
            case OpKind.SharedExpert:
                ReferenceOps.SharedExpert(In(0).F32, View(In(1), i[2], false), View(In(3), i[4], false), View(In(5), i[6], false),
                    i[7] is null ? default : ToF32(In(7)), o[0].F32, ((SwiGluAttributes)node.Attributes).Limit);
                break;
            case OpKind.Add:
                ReferenceOps.Add(In(0).F32, In(1).F32, o[0].F32);
                break;
            case OpKind.DequantFp8Block or OpKind.DequantFp4:
                ReferenceOps.Dequantize(View(In(0), i[1], In(0).Desc.Shape.Rank == 3), o[0].F32);
                break;
            case OpKind.ActQuantFp8:
                ReferenceOps.ActQuantFp8(In(0).F32, o[0].Data, o[1].F32, Dim(In(0), 1),
                    ((ActQuantAttributes)node.Attributes).PowerOfTwoScales);
                break;
            default:
                throw new NotSupportedException($"The reference backend has no implementation of {node.Kind}.");
        }
    }

    /// <summary>A weight buffer (and its scale) as a dequantising view; rank 2 weights are one expert.</summary>
    public static WeightView View(Buf weight, Buf? scale, bool stacked)
    {
        var s = weight.Desc.Shape;
        long e = stacked ? s[0] : 1;
        int lead = stacked ? 1 : 0;
        return new WeightView(weight.Data, weight.Desc.Type, scale is null ? default : scale.Data,
            scale?.Desc.Type ?? DType.F32, e, s[lead], s[lead + 1]);
    }

    private static float[] ToF32(Buf b) => new HostTensor(b.Desc.Type, b.Desc.Shape, b.Data).ToF32();
}
