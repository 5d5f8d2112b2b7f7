using Accel.Graph;
using Accel.Types;
using NUnit.Framework;
using static Accel.Kernels.Tests.RoutingOpTests;

namespace Accel.Kernels.Tests;

/// <summary>OP-9..11, OP-14 and OP-16 on ilgpu-cpu against the reference.</summary>
[TestFixture]
public sealed class DispatchOpTests
{
    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(OpCase c) => Conformance.Check(c);

    public static IEnumerable<TestCaseData> Cases() => All().Select(c => c.ToTestCase());

    private static IEnumerable<OpCase> All()
    {
        // Histogram -> scan -> permutation in one graph: every intermediate is an output too.
        foreach (var (t, k, e, a, routing) in new[]
        {
            (0, 2, 4, 1, Routing.Random), (0, 2, 4, 16, Routing.Random), (1, 1, 4, 1, Routing.Random),
            (1, 3, 8, 16, Routing.Random), (13, 3, 8, 1, Routing.Skewed), (13, 3, 8, 16, Routing.OneExpert),
            (40, 4, 40, 3, Routing.OddOnly), (300, 2, 16, 16, Routing.Skewed), (200, 2, 300, 1, Routing.Random),
        })
        {
            yield return new($"Histogram+Scan+Permutation T{t} K{k} E{e} A{a} {routing}", () =>
            {
                var r = new TestRng(t * 17 + k + e + a);
                var g = new GraphBuilder();
                var ids = g.Input("ids", DType.I32, t, k);
                var counts = g.ExpertHistogram("hist", ids, e);
                var offsets = g.ExclusiveScan("scan", counts, e, a);
                var (ptt, pts, tsp) = g.BuildPermutation("perm", ids, offsets, e, a);
                g.Output(counts).Output(offsets).Output(ptt).Output(pts).Output(tsp);
                return Data(g, ("ids", I32(r.Experts(t, k, e, routing), t, k)));
            });
        }

        foreach (var (t, k, e, a, d) in new[] { (0, 2, 4, 16, 5), (1, 2, 4, 1, 7), (9, 3, 5, 4, 20) })
        {
            yield return new($"Permute T{t} K{k} E{e} A{a} D{d}", () =>
            {
                var r = new TestRng(t + k + e + a + d);
                var dispatch = Dispatch.Build(r.Experts(t, k, e, Routing.Skewed), t, k, e, a);
                var g = new GraphBuilder();
                var x = g.Input("x", DType.F32, t, d);
                var ptt = g.Input("ptt", DType.I32, dispatch.Rows);
                g.Output(g.Permute("permute", x, ptt));
                return Data(g, ("x", F32(r.Floats(t * d), t, d)), ("ptt", I32(dispatch.PosToToken, dispatch.Rows)));
            });
        }

        foreach (var (t, k, e, a, d, weighted) in new[]
        {
            (0, 2, 4, 16, 5, true), (1, 2, 4, 1, 7, false), (9, 3, 5, 4, 20, true), (16, 6, 8, 16, 33, true),
        })
        {
            yield return new($"Unpermute T{t} K{k} E{e} A{a} D{d} weights={weighted}", () =>
            {
                var r = new TestRng(t * 3 + k + e + a + d);
                var dispatch = Dispatch.Build(r.Experts(t, k, e, Routing.Random), t, k, e, a);
                var g = new GraphBuilder();
                var rows = g.Input("rows", DType.F32, dispatch.Rows, d);
                var tsp = g.Input("tsp", DType.I32, t, k);
                var w = weighted ? g.Input("w", DType.F32, t, k) : null;
                g.Output(g.Unpermute("combine", rows, tsp, w));
                var tensors = new List<(string, HostTensor)>
                {
                    ("rows", F32(r.Floats(dispatch.Rows * d), dispatch.Rows, d)), ("tsp", I32(dispatch.TokenSlotToPos, t, k)),
                };
                if (weighted)
                {
                    tensors.Add(("w", F32(r.Floats(t * k, 0, 1), t, k)));
                }

                return Data(g, [.. tensors]);
            });
        }

        foreach (var (t, d) in new[] { (0, 4), (1, 1), (7, 300) })
        {
            yield return new($"Add T{t} D{d}", () =>
            {
                var r = new TestRng(t + d);
                var g = new GraphBuilder();
                var a = g.Input("a", DType.F32, t, d);
                var b = g.Input("b", DType.F32, t, d);
                g.Output(g.Sum("add", a, b));
                return Data(g, ("a", F32(r.Floats(t * d), t, d)), ("b", F32(r.Floats(t * d), t, d)));
            });
        }
    }
}
