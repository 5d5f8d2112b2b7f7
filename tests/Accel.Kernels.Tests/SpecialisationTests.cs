using Accel.Backends.Ilgpu;
using Accel.Graph;
using Accel.Types;
using NUnit.Framework;
using static Accel.Kernels.Tests.RoutingOpTests;

namespace Accel.Kernels.Tests;

/// <summary>
/// The other shipped specialisations (GEMM tiles and row-group sizes) on CPU accelerators whose
/// geometry fits them: the same kernels, other constants, the same answers.
/// </summary>
[TestFixture]
public sealed class SpecialisationTests
{
    [TestCase(32, 32, 16, 8, 64)]
    [TestCase(32, 32, 32, 8, 64)]
    [TestCase(64, 64, 16, 16, 256, Category = "slow")]
    [TestCase(64, 64, 32, 16, 256, Category = "slow")]
    public void TileMatchesReference(int m, int n, int k, int warp, int rowGroup)
    {
        using var backend = IlgpuBackend.CreateCpu(new IlgpuOptions
        {
            CpuThreadsPerWarp = warp, CpuWarpsPerMultiprocessor = warp, GemmTile = (m, n, k), RowGroupSize = rowGroup,
        });
        Assert.That(backend.PreferredSegmentAlignment, Is.EqualTo(m));
        foreach (var (type, scale, t, a) in new[]
        {
            (DType.F32, (DType?)null, 5, 1), (DType.F8E4M3, DType.UE8M0, 20, m), (DType.F4E2M1, DType.UE8M0, 9, 3),
        })
        {
            var c = new OpCase($"GroupedGemm {ExpertOpTests.Name(type, scale)} T{t} A{a}", () => GemmCase(type, scale, t, a));
            Conformance.Check(c, backend);
        }

        foreach (var c in RowCases())
        {
            Conformance.Check(c, backend);
        }

        CompositeTests.CheckLayer(backend, v3: true, tokens: 6, alignment: m);
    }

    private static CaseData GemmCase(DType type, DType? scale, int t, int alignment)
    {
        const int k = 2, e = 5, din = 136, dout = 70;
        var r = new TestRng(t + alignment + (int)type);
        var dispatch = Dispatch.Build(r.Experts(t, k, e, Routing.Skewed), t, k, e, alignment);
        var (w, s) = ExpertOpTests.MakeWeight(r, type, scale, e, dout, din, stacked: true);
        var g = new GraphBuilder();
        var rows = g.Input("rows", DType.F32, dispatch.Rows, din);
        var off = g.Input("offsets", DType.I32, e + 1);
        var wv = g.Weight("w", type, e, dout, din);
        var sv = s is null ? null : g.Weight("s", s.Type, [.. s.Shape]);
        g.Output(g.GroupedGemm("gemm", rows, wv, sv, off));
        var tensors = new List<(string, HostTensor)>
        {
            ("rows", F32(r.Floats(dispatch.Rows * din), dispatch.Rows, din)), ("offsets", I32(dispatch.Offsets, e + 1)), ("w", w),
        };
        if (s is not null)
        {
            tensors.Add(("s", s));
        }

        return Data(g, [.. tensors]);
    }

    /// <summary>Row reductions whose widths are below, at and above the group size.</summary>
    private static IEnumerable<OpCase> RowCases()
    {
        foreach (int e in new[] { 7, 300 })
        {
            yield return new($"softmax+topk E{e}", () =>
            {
                var r = new TestRng(e);
                var g = new GraphBuilder();
                var z = g.Input("z", DType.F32, 3, e);
                var p = g.RouterScore("score", z, ScoreFunc.Softmax);
                g.Output(p).Output(g.TopK("topk", g.Input("q", DType.F32, 3, e), 5));
                return Data(g, ("z", F32(r.Floats(3 * e, -5, 5), 3, e)), ("q", F32(r.Levels(3 * e, 9, 0.5f), 3, e)));
            });
            yield return new($"scan E{e}", () =>
            {
                var r = new TestRng(e + 1);
                var g = new GraphBuilder();
                var counts = g.Input("counts", DType.I32, e);
                g.Output(g.ExclusiveScan("scan", counts, e, 4));
                return Data(g, ("counts", I32([.. Enumerable.Range(0, e).Select(_ => r.Next(9))], e)));
            });
            yield return new($"rmsnorm D{e}", () =>
            {
                var r = new TestRng(e + 2);
                var g = new GraphBuilder();
                var x = g.Input("x", DType.F32, 2, e);
                g.Output(g.RmsNorm("norm", x, g.Weight("w", DType.BF16, e)));
                return Data(g, ("x", F32(r.Floats(2 * e), 2, e)), ("w", r.FloatWeight(DType.BF16, e)));
            });
        }
    }
}
