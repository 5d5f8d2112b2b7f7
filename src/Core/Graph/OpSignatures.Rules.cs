using Accel.Types;

namespace Accel.Graph;

public static partial class OpSignatures
{
    private const DTypeSet Index = DTypeSet.I32;
    private const DTypeSet Float32 = DTypeSet.F32;
    private const DTypeSet FloatWeights = DTypeSet.F32 | DTypeSet.F16 | DTypeSet.BF16;

    private static (DType, SymbolicShape)[] One(DType t, params Dim[] dims) => [(t, new SymbolicShape(dims))];

    private static (DType, SymbolicShape)[] InferRmsNorm(Checker c)
    {
        var x = c.Matrix(0, DType.F32);
        var w = c.Vector(1, FloatWeights);
        c.SameDim(w.Shape[0], x.Shape[1], "the length of 'weight'");
        c.Require(c.Attr<RmsNormAttributes>().Epsilon >= 0, "epsilon must be non-negative.");
        return One(DType.F32, x.Shape[0], x.Shape[1]);
    }

    private static (DType, SymbolicShape)[] InferRouterGemm(Checker c)
    {
        var x = c.Matrix(0, DType.F32);
        var w = c.Rank(1, 2, FloatWeights);
        c.SameDim(w.Shape[1], x.Shape[1], "the input width of 'router_weight' [E, D]");
        c.Fixed(w.Shape[0], "the expert count of 'router_weight'");
        return One(DType.F32, x.Shape[0], w.Shape[0]);
    }

    private static (DType, SymbolicShape)[] InferSelectionBias(Checker c)
    {
        var p = c.Matrix(0, DType.F32);
        var b = c.Vector(1, Float32);
        c.SameDim(b.Shape[0], p.Shape[1], "the length of 'bias'");
        return One(DType.F32, p.Shape[0], p.Shape[1]);
    }

    private static (DType, SymbolicShape)[] InferGroupLimit(Checker c)
    {
        var q = c.Matrix(0, DType.F32);
        var a = c.Attr<GroupLimitAttributes>();
        long experts = c.Fixed(q.Shape[1], "the expert count");
        c.Require(a.Groups >= 1, $"the group count must be at least 1 but is {a.Groups}.");
        c.Require(experts % a.Groups == 0,
            $"{a.Groups} groups do not divide {experts} experts; choose a group count that divides the expert count.");
        c.Require(a.TopGroups >= 1 && a.TopGroups <= a.Groups,
            $"top-k groups is {a.TopGroups} but must be between 1 and the group count {a.Groups}.");
        c.Require(a.Score != GroupScore.Top2Sum || experts / a.Groups >= 2,
            "the top-2-sum group score needs at least 2 experts per group.");
        return One(DType.F32, q.Shape[0], q.Shape[1]);
    }

    private static (DType, SymbolicShape)[] InferTopK(Checker c)
    {
        var q = c.Matrix(0, DType.F32);
        int k = c.Attr<TopKAttributes>().K;
        long experts = c.Fixed(q.Shape[1], "the expert count");
        c.Require(k >= 1 && k <= experts, $"K = {k} must be between 1 and the number of experts ({experts}).");
        return One(DType.I32, q.Shape[0], k);
    }

    private static (DType, SymbolicShape)[] InferHashRoute(Checker c)
    {
        var ids = c.Vector(0, Index);
        var table = c.Rank(1, 2, Index);
        int experts = c.Attr<HashRouteAttributes>().Experts;
        long k = c.Fixed(table.Shape[1], "the width of 'tid2eid'");
        c.Require(k >= 1 && k <= experts, $"the table width K = {k} must be between 1 and the expert count {experts}.");
        return One(DType.I32, ids.Shape[0], k);
    }

    private static (DType, SymbolicShape)[] InferRouteWeights(Checker c)
    {
        var p = c.Matrix(0, DType.F32);
        var idx = c.Rank(1, 2, Index);
        c.SameDim(idx.Shape[0], p.Shape[0], "the row count of 'topk_ids'");
        var a = c.Attr<RouteWeightsAttributes>();
        c.Require(float.IsFinite(a.Scale), "the routed scaling factor must be finite.");
        c.Require(a.Epsilon >= 0, "epsilon must be non-negative.");
        return One(DType.F32, idx.Shape[0], idx.Shape[1]);
    }

    private static (DType, SymbolicShape)[] InferHistogram(Checker c)
    {
        c.Rank(0, 2, Index);
        int e = c.Attr<HistogramAttributes>().Experts;
        c.Require(e >= 1, "the expert count must be at least 1.");
        return One(DType.I32, e);
    }

    private static (DType, SymbolicShape)[] InferScan(Checker c)
    {
        var counts = c.Vector(0, Index);
        var a = c.Attr<SegmentAttributes>();
        c.SameDim(counts.Shape[0], a.Experts, "the length of 'counts'");
        c.Require(a.Alignment >= 1, $"the segment alignment must be at least 1 but is {a.Alignment}.");
        return One(DType.I32, a.Experts + 1);
    }

    private static (DType, SymbolicShape)[] InferPermutation(Checker c)
    {
        var idx = c.Rank(0, 2, Index);
        var off = c.Vector(1, Index);
        var a = c.Attr<SegmentAttributes>();
        c.SameDim(off.Shape[0], a.Experts + 1, "the length of 'offsets'");
        c.Require(a.Alignment >= 1, $"the segment alignment must be at least 1 but is {a.Alignment}.");
        int k = (int)c.Fixed(idx.Shape[1], "K");
        var rows = PaddedRows(idx.Shape[0], k, a.Experts, a.Alignment);
        return
        [
            (DType.I32, new SymbolicShape(rows)),
            (DType.I32, new SymbolicShape(rows)),
            (DType.I32, new SymbolicShape(idx.Shape[0], k)),
        ];
    }

    private static (DType, SymbolicShape)[] InferPermute(Checker c)
    {
        var x = c.Matrix(0, DType.F32);
        var p = c.Vector(1, Index);
        return One(DType.F32, p.Shape[0], x.Shape[1]);
    }

    private static (DType, SymbolicShape)[] InferGroupedGemm(Checker c)
    {
        var rows = c.Matrix(0, DType.F32);
        var w = c.Rank(1, 3, WeightTypes);
        var off = c.Vector(3, Index);
        long experts = c.Fixed(w.Shape[0], "the expert count of 'weight'");
        c.SameDim(off.Shape[0], experts + 1, "the length of 'offsets'");
        c.SameDim(w.Shape[2], rows.Shape[1], "the input width of 'weight' [E, out, in]");
        CheckWeightScale(c, w, 2, hasLeadingExpertAxis: true);
        return One(DType.F32, rows.Shape[0], w.Shape[1]);
    }

    private static (DType, SymbolicShape)[] InferSwiGlu(Checker c)
    {
        var g = c.Matrix(0, DType.F32);
        var u = c.Matrix(1, DType.F32);
        c.Require(g.Shape.Equals(u.Shape), $"'gate' {g.Shape} and 'up' {u.Shape} must have the same shape.");
        bool any = c.Has(2) || c.Has(3) || c.Has(4);
        bool all = c.Has(2) && c.Has(3) && c.Has(4);
        c.Require(!any || all, "a row weight needs all of 'route_weights', 'pos_to_token' and 'pos_to_slot'.");
        if (all)
        {
            c.Matrix(2, DType.F32);
            var ptt = c.Vector(3, Index);
            var pts = c.Vector(4, Index);
            c.SameDim(ptt.Shape[0], g.Shape[0], "the length of 'pos_to_token'");
            c.SameDim(pts.Shape[0], g.Shape[0], "the length of 'pos_to_slot'");
        }

        CheckLimit(c, c.Attr<SwiGluAttributes>().Limit);
        return One(DType.F32, g.Shape[0], g.Shape[1]);
    }

    private static (DType, SymbolicShape)[] InferUnpermute(Checker c)
    {
        var rows = c.Matrix(0, DType.F32);
        var pos = c.Rank(1, 2, Index);
        bool useWeights = c.Attr<UnpermuteAttributes>().UseWeights;
        c.Require(useWeights == c.Has(2),
            useWeights ? "UseWeights is set, so connect 'route_weights'." : "'route_weights' is connected but UseWeights is off.");
        if (useWeights)
        {
            var w = c.Matrix(2, DType.F32);
            c.Require(w.Shape.Equals(pos.Shape), $"'route_weights' {w.Shape} must match 'token_slot_to_pos' {pos.Shape}.");
        }

        return One(DType.F32, pos.Shape[0], rows.Shape[1]);
    }

    private static (DType, SymbolicShape)[] InferSharedExpert(Checker c)
    {
        var x = c.Matrix(0, DType.F32);
        var w1 = c.Rank(1, 2, WeightTypes);
        var w3 = c.Rank(3, 2, WeightTypes);
        var w2 = c.Rank(5, 2, WeightTypes);
        c.SameDim(w1.Shape[1], x.Shape[1], "the input width of 'gate_weight' [Is, D]");
        c.Require(w3.Shape.Equals(w1.Shape), $"'up_weight' {w3.Shape} must match 'gate_weight' {w1.Shape}.");
        c.SameDim(w2.Shape[0], x.Shape[1], "the output width of 'down_weight' [D, Is]");
        c.SameDim(w2.Shape[1], w1.Shape[0], "the input width of 'down_weight' [D, Is]");
        CheckWeightScale(c, w1, 2, hasLeadingExpertAxis: false);
        CheckWeightScale(c, w3, 4, hasLeadingExpertAxis: false);
        CheckWeightScale(c, w2, 6, hasLeadingExpertAxis: false);
        if (c.Has(7))
        {
            var g = c.Rank(7, 2, FloatWeights);
            c.SameDim(g.Shape[0], 1, "the row count of 'expert_gate' [1, D]");
            c.SameDim(g.Shape[1], x.Shape[1], "the width of 'expert_gate' [1, D]");
        }

        CheckLimit(c, c.Attr<SwiGluAttributes>().Limit);
        return One(DType.F32, x.Shape[0], x.Shape[1]);
    }

    private static (DType, SymbolicShape)[] InferAdd(Checker c)
    {
        var a = c.Typed(0, DType.F32);
        var b = c.Typed(1, DType.F32);
        c.Require(a.Shape.Equals(b.Shape), $"'a' {a.Shape} and 'b' {b.Shape} must have the same shape.");
        return [(DType.F32, a.Shape)];
    }

    private static (DType, SymbolicShape)[] InferDequantFp8(Checker c)
    {
        var w = c.Typed(0, DType.F8E4M3);
        c.Require(w.Shape.Rank is 2 or 3, $"'weight' must be [out, in] or [E, out, in] but is {w.Shape}.");
        CheckWeightScale(c, w, 1, hasLeadingExpertAxis: w.Shape.Rank == 3);
        c.Require(c.Has(1), "an FP8 weight needs its block scale.");
        return [(DType.F32, w.Shape)];
    }

    private static (DType, SymbolicShape)[] InferDequantFp4(Checker c)
    {
        var w = c.Typed(0, DType.F4E2M1);
        c.Require(w.Shape.Rank is 2 or 3, $"'weight' must be [out, in] or [E, out, in] but is {w.Shape}.");
        CheckWeightScale(c, w, 1, hasLeadingExpertAxis: w.Shape.Rank == 3);
        return [(DType.F32, w.Shape)];
    }

    private static (DType, SymbolicShape)[] InferActQuant(Checker c)
    {
        var x = c.Matrix(0, DType.F32);
        long cols = c.Fixed(x.Shape[1], "the column count");
        c.Require(cols % Fp8Block == 0, $"the column count {cols} must be a multiple of {Fp8Block}.");
        return
        [
            (DType.F8E4M3, x.Shape),
            (DType.F32, new SymbolicShape(x.Shape[0], cols / Fp8Block)),
        ];
    }

    private static void CheckLimit(Checker c, float? limit) =>
        c.Require(limit is null || (float.IsFinite(limit.Value) && limit.Value > 0),
            $"the SwiGLU limit must be positive and finite, or absent, but is {limit}.");

    /// <summary>
    /// FP8 weights need a scale [.., ceil(out/128), ceil(in/128)] in f32 or ue8m0; FP4 weights a
    /// scale [.., out, ceil(in/32)] in ue8m0 and an even input width; other weights take none.
    /// </summary>
    private static void CheckWeightScale(Checker c, Value w, int scalePos, bool hasLeadingExpertAxis)
    {
        int lead = hasLeadingExpertAxis ? 1 : 0;
        long outDim = c.Fixed(w.Shape[lead], $"the output width of {w.Name}");
        long inDim = c.Fixed(w.Shape[lead + 1], $"the input width of {w.Name}");
        Dim[] expected;
        DTypeSet scaleTypes;
        switch (w.Type)
        {
            case DType.F8E4M3:
                expected = [CeilDiv(outDim, Fp8Block), CeilDiv(inDim, Fp8Block)];
                scaleTypes = DTypeSet.F32 | DTypeSet.UE8M0;
                break;
            case DType.F4E2M1:
                c.Require(inDim % 2 == 0, $"the FP4 weight {w.Name} needs an even input width but has {inDim}.");
                expected = [outDim, CeilDiv(inDim, Fp4Block)];
                scaleTypes = DTypeSet.UE8M0;
                break;
            default:
                c.Require(!c.Has(scalePos), $"{c.Describe(scalePos)} is connected but weight {w.Name} is {w.Type.ShortName()}, which takes no scale.");
                return;
        }

        c.Require(c.Has(scalePos), $"the {w.Type.ShortName()} weight {w.Name} needs its scale; connect it.");
        var s = c.Typed(scalePos, scaleTypes);
        var full = hasLeadingExpertAxis ? new SymbolicShape([w.Shape[0], .. expected]) : new SymbolicShape(expected);
        c.Require(s.Shape.Equals(full), $"{c.Describe(scalePos)} must have shape {full} for weight {w.Name} {w.Shape}.");
    }
}
