using Accel.Backends;
using Accel.Backends.Ilgpu;
using Accel.Graph;
using Accel.Passes;
using Accel.Types;
using NUnit.Framework;

namespace Accel.Kernels.Tests;

/// <summary>Whole MoE layers through <see cref="Execution.GraphSession"/>: every op chained, token count symbolic.</summary>
[TestFixture]
public sealed class CompositeTests
{
    private const int D = 24, I = 10, Is = 12, E = 16;

    [TestCase(true, 0, false)]
    [TestCase(true, 1, false)]
    [TestCase(true, 7, false)]
    [TestCase(true, 7, true)]
    [TestCase(false, 0, true)]
    [TestCase(false, 1, true)]
    [TestCase(false, 9, false)]
    [TestCase(false, 9, true)]
    public void LayerMatchesReference(bool v3, int tokens, bool alignToTile) =>
        CheckLayer(Backends.Cpu, v3, tokens, alignToTile ? Backends.Cpu.PreferredSegmentAlignment : 1);

    /// <summary>Runs a V3-like (bf16 experts, grouped sigmoid routing) or V4-like (FP4 experts) layer.</summary>
    public static void CheckLayer(IlgpuBackend backend, bool v3, int tokens, int alignment)
    {
        var (graph, weights) = v3 ? V3Layer() : V4Layer();
        graph = new SegmentAlignmentPass(alignment).Run(graph);
        var r = new TestRng(tokens * 3 + alignment);
        var x = HostTensor.FromF32(new Shape(tokens, D), r.Floats(tokens * D, -2, 2));
        var data = new CaseData(graph, weights, new() { ["x"] = x });
        var expected = Conformance.RunSession(data, Backends.Reference);
        var actual = Conformance.RunSession(data, backend);
        foreach (var (name, e) in expected)
        {
            Conformance.Compare(name, e, actual[name]);
        }
    }

    /// <summary>V3-like: sigmoid + bias, 4 groups keep 2 (top-2 sum), K 4, s 2.5, bf16 experts, fp8 shared expert.</summary>
    public static (Graph.Graph, Dictionary<string, HostTensor>) V3Layer()
    {
        var b = new LayerBuilder(31);
        var h = b.Norm();
        var p = b.G.RouterScore("score", b.Router(h), ScoreFunc.Sigmoid);
        var q = b.G.SelectionBias("bias", p, b.Vector("router.bias", E));
        var idx = b.G.TopK("topk", b.G.GroupLimitMask("groups", q, 4, 2, GroupScore.Top2Sum), 4);
        var w = b.G.RouteWeights("weights", p, idx, normalize: true, scale: 2.5f, epsilon: 0f);
        var (off, ptt, pts, tsp) = b.Dispatch(idx);
        var xp = b.G.Permute("permute", h, ptt);
        var g1 = b.G.GroupedGemm("gate", xp, b.Weight("w1", DType.BF16, null, E, I, D), null, off);
        var g3 = b.G.GroupedGemm("up", xp, b.Weight("w3", DType.BF16, null, E, I, D), null, off);
        var act = b.G.SwiGlu("swiglu", g1, g3, null);
        var yp = b.G.GroupedGemm("down", act, b.Weight("w2", DType.BF16, null, E, D, I), null, off);
        var y = b.G.Unpermute("combine", yp, tsp, w);
        var shared = b.Shared(h, DType.F8E4M3, DType.UE8M0, null);
        b.G.Output(b.G.Sum("out", y, shared)).Output(idx).Output(w).Output(off).Output(ptt).Output(pts);
        return (b.G.Build(), b.Weights);
    }

    /// <summary>V4-like: sqrt-softplus + bias, K 6, s 1.5, FP4 experts, clamp 10 with the row weight in SwiGLU.</summary>
    public static (Graph.Graph, Dictionary<string, HostTensor>) V4Layer()
    {
        var b = new LayerBuilder(47);
        var h = b.Norm();
        var p = b.G.RouterScore("score", b.Router(h), ScoreFunc.SqrtSoftplus);
        var idx = b.G.TopK("topk", b.G.SelectionBias("bias", p, b.Vector("router.bias", E)), 6);
        var w = b.G.RouteWeights("weights", p, idx, normalize: true, scale: 1.5f, epsilon: 1e-20f);
        var (off, ptt, pts, tsp) = b.Dispatch(idx);
        var xp = b.G.Permute("permute", h, ptt);
        var (w1, s1) = b.Fp4("w1", E, I, D);
        var (w3, s3) = b.Fp4("w3", E, I, D);
        var (w2, s2) = b.Fp4("w2", E, D, I);
        var act = b.G.SwiGlu("swiglu", b.G.GroupedGemm("up1", xp, w1, s1, off), b.G.GroupedGemm("up3", xp, w3, s3, off),
            10f, w, ptt, pts);
        var y = b.G.Unpermute("combine", b.G.GroupedGemm("down", act, w2, s2, off), tsp, null);
        var shared = b.Shared(h, DType.F8E4M3, DType.F32, 10f);
        b.G.Output(b.G.Sum("out", y, shared)).Output(idx).Output(w).Output(tsp);
        return (b.G.Build(), b.Weights);
    }

    private sealed class LayerBuilder(int seed)
    {
        private readonly TestRng _r = new(seed);

        public GraphBuilder G { get; } = new();

        public Dictionary<string, HostTensor> Weights { get; } = new(StringComparer.Ordinal);

        public Value Norm()
        {
            var x = G.Input("x", DType.F32, Dim.Tokens, D);
            return G.RmsNorm("norm", x, Vector("norm.weight", D), 1e-6f);
        }

        public Value Router(Value h)
        {
            // Well separated logits: a ramp over the experts plus a little of the input.
            var wg = new float[E * D];
            var noise = _r.Floats(E * D, -0.05f, 0.05f);
            for (int e = 0; e < E; e++)
            {
                for (int d = 0; d < D; d++)
                {
                    wg[e * D + d] = noise[e * D + d] + (d % 3 == 0 ? (e - E / 2) * 0.2f : 0f) * (d % 2 == 0 ? 1 : -1);
                }
            }

            Weights["router"] = HostTensor.FromF32(new Shape(E, D), wg);
            return G.RouterGemm("logits", h, G.Weight("router", DType.F32, E, D));
        }

        public Value Vector(string name, int n)
        {
            Weights[name] = HostTensor.FromF32(new Shape(n), _r.Floats(n, -0.5f, 1.5f));
            return G.Weight(name, DType.F32, n);
        }

        public (Value Offsets, Value PosToToken, Value PosToSlot, Value TokenSlotToPos) Dispatch(Value idx)
        {
            var counts = G.ExpertHistogram("hist", idx, E);
            var off = G.ExclusiveScan("scan", counts, E, 1);
            var (ptt, pts, tsp) = G.BuildPermutation("perm", idx, off, E, 1);
            return (off, ptt, pts, tsp);
        }

        public Value Weight(string name, DType type, DType? scale, params long[] shape)
        {
            var (w, s) = ExpertOpTests.MakeWeight(_r, type, scale, shape.Length == 3 ? shape[0] : 1, shape[^2], shape[^1],
                stacked: shape.Length == 3);
            Weights[name] = w;
            if (s is not null)
            {
                Weights[name + ".scale"] = s;
            }

            return G.Weight(name, type, shape);
        }

        public (Value Weight, Value Scale) Fp4(string name, long e, long o, long i)
        {
            var w = Weight(name, DType.F4E2M1, DType.UE8M0, e, o, i);
            return (w, G.Weight(name + ".scale", DType.UE8M0, [.. Weights[name + ".scale"].Shape]));
        }

        public Value Shared(Value h, DType type, DType scale, float? limit)
        {
            ProjectionWeights P(string name, long o, long i)
            {
                var w = Weight(name, type, scale, o, i);
                return new ProjectionWeights(w, G.Weight(name + ".scale", scale, [.. Weights[name + ".scale"].Shape]));
            }

            return G.SharedExpert("shared", h, P("shared.w1", Is, D), P("shared.w3", Is, D), P("shared.w2", D, Is), limit);
        }
    }
}
