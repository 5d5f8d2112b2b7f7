using Accel.Graph;
using Accel.Types;
using NUnit.Framework;

namespace Accel.Kernels.Tests;

/// <summary>OP-1..8 on ilgpu-cpu against the reference.</summary>
[TestFixture]
public sealed class RoutingOpTests
{
    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(OpCase c) => Conformance.Check(c);

    public static IEnumerable<TestCaseData> Cases() => All().Select(c => c.ToTestCase());

    private static IEnumerable<OpCase> All()
    {
        foreach (var (t, d, type) in new[]
        {
            (0, 7, DType.F32), (1, 33, DType.F32), (5, 100, DType.BF16), (37, 19, DType.F16), (3, 1, DType.F32),
        })
        {
            yield return new($"RmsNorm T{t} D{d} {type.ShortName()}", () =>
            {
                var r = new TestRng(t * 31 + d);
                var g = new GraphBuilder();
                var x = g.Input("x", DType.F32, t, d);
                var w = g.Weight("w", type, d);
                g.Output(g.RmsNorm("norm", x, w, 1e-6f));
                return Data(g, ("w", r.FloatWeight(type, d)), ("x", F32(r.Floats(t * d, -3, 3), t, d)));
            });
        }

        foreach (var (t, d, e, type) in new[]
        {
            (0, 5, 3, DType.F32), (1, 37, 17, DType.BF16), (19, 37, 17, DType.F32), (6, 20, 5, DType.F16),
        })
        {
            yield return new($"RouterGemm T{t} D{d} E{e} {type.ShortName()}", () =>
            {
                var r = new TestRng(t * 7 + e);
                var g = new GraphBuilder();
                var x = g.Input("x", DType.F32, t, d);
                var w = g.Weight("wg", type, e, d);
                g.Output(g.RouterGemm("router", x, w));
                return Data(g, ("wg", r.FloatWeight(type, e, d)), ("x", F32(r.Floats(t * d), t, d)));
            });
        }

        foreach (var func in Enum.GetValues<ScoreFunc>())
        {
            foreach (var (t, e) in new[] { (0, 8), (1, 1), (6, 9), (4, 40) })
            {
                yield return new($"RouterScore {func} T{t} E{e}", () =>
                {
                    var r = new TestRng(t * 13 + e + (int)func);
                    var logits = r.Floats(t * e, -30, 30);
                    var g = new GraphBuilder();
                    var z = g.Input("z", DType.F32, t, e);
                    g.Output(g.RouterScore("score", z, func));
                    return Data(g, ("z", F32(logits, t, e)));
                });
            }
        }

        foreach (var (t, e) in new[] { (0, 4), (1, 16), (9, 33) })
        {
            yield return new($"SelectionBias T{t} E{e}", () =>
            {
                var r = new TestRng(t + e);
                var g = new GraphBuilder();
                var p = g.Input("p", DType.F32, t, e);
                var b = g.Weight("b", DType.F32, e);
                g.Output(g.SelectionBias("bias", p, b));
                return Data(g, ("b", F32(r.Floats(e), e)), ("p", F32(r.Floats(t * e, 0, 1), t, e)));
            });
        }

        foreach (var (t, e, groups, top, score) in new[]
        {
            (0, 16, 4, 2, GroupScore.Max), (1, 16, 4, 2, GroupScore.Top2Sum), (7, 24, 8, 3, GroupScore.Top2Sum),
            (5, 64, 32, 5, GroupScore.Max), (3, 8, 1, 1, GroupScore.Max),
        })
        {
            yield return new($"GroupLimitMask T{t} E{e} G{groups} top{top} {score}", () =>
            {
                var r = new TestRng(t * 3 + e + groups);
                var g = new GraphBuilder();
                var q = g.Input("q", DType.F32, t, e);
                g.Output(g.GroupLimitMask("mask", q, groups, top, score));
                return Data(g, ("q", F32(r.Levels(t * e, 6, 0.25f), t, e)));
            });
        }

        foreach (var (t, e, k) in new[] { (0, 8, 2), (1, 1, 1), (5, 8, 8), (7, 33, 4), (4, 70, 6), (3, 16, 16) })
        {
            yield return new($"TopK T{t} E{e} K{k} ties and -inf", () =>
            {
                var r = new TestRng(t * 5 + e + k);
                var q = r.Levels(t * e, 5, 0.5f);
                for (int i = 0; i < q.Length; i += 3)
                {
                    q[i] = float.NegativeInfinity;
                }

                var g = new GraphBuilder();
                var input = g.Input("q", DType.F32, t, e);
                g.Output(g.TopK("topk", input, k));
                return Data(g, ("q", F32(q, t, e)));
            });
        }

        foreach (var (t, vocab, k, e) in new[] { (0, 10, 2, 8), (1, 50, 4, 16), (9, 50, 4, 16) })
        {
            yield return new($"HashRoute T{t} V{vocab} K{k} E{e}", () =>
            {
                var r = new TestRng(t + vocab + k);
                var table = new int[vocab * k];
                for (int v = 0; v < vocab; v++)
                {
                    r.Experts(1, k, e, Routing.Random).CopyTo(table, v * k);
                }

                var ids = Enumerable.Range(0, t).Select(_ => r.Next(vocab)).ToArray();
                var g = new GraphBuilder();
                var tokenIds = g.Input("ids", DType.I32, t);
                var tid2eid = g.Weight("tid2eid", DType.I32, vocab, k);
                g.Output(g.HashRoute("hash", tokenIds, tid2eid, e));
                return Data(g, ("tid2eid", I32(table, vocab, k)), ("ids", I32(ids, t)));
            });
        }

        foreach (var (t, e, k, normalize, scale, eps) in new[]
        {
            (0, 8, 2, true, 1f, 0f), (1, 16, 4, true, 2.5f, 1e-20f), (11, 16, 6, false, 16f, 0f), (6, 5, 5, true, 1.5f, 0f),
        })
        {
            yield return new($"RouteWeights T{t} E{e} K{k} norm={normalize} s={scale}", () =>
            {
                var r = new TestRng(t + e * k);
                var g = new GraphBuilder();
                var p = g.Input("p", DType.F32, t, e);
                var idx = g.Input("idx", DType.I32, t, k);
                g.Output(g.RouteWeights("weights", p, idx, normalize, scale, eps));
                return Data(g, ("p", F32(r.Floats(t * e, 0, 1), t, e)), ("idx", I32(r.Experts(t, k, e, Routing.Random), t, k)));
            });
        }
    }

    /// <summary>A case from a graph and named tensors: weights or inputs by the role of the value they fill.</summary>
    public static CaseData Data(GraphBuilder g, params (string Name, HostTensor Tensor)[] tensors)
    {
        var graph = g.Build();
        var weights = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        var inputs = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            var v = graph.Values.Single(x => x.Name == name);
            (v.Role == ValueRole.Weight ? weights : inputs)[name] = tensor;
        }

        return new CaseData(graph, weights, inputs);
    }

    /// <summary>An f32 tensor of <paramref name="shape"/>.</summary>
    public static HostTensor F32(float[] values, params long[] shape) => HostTensor.FromF32(new Shape(shape), values);

    /// <summary>An i32 tensor of <paramref name="shape"/>.</summary>
    public static HostTensor I32(int[] values, params long[] shape) => HostTensor.FromI32(new Shape(shape), values);
}
