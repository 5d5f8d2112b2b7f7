using Accel.Backends.Reference;
using Accel.Kernels.Tests;
using Accel.Passes;
using Accel.Types;
using NUnit.Framework;

namespace Accel.OpenCL.Tests;

/// <summary>
/// Every op on opencl:0 against the reference backend, over the same case tables as the ilgpu-cpu
/// per-op tests (shapes off the tiles, T = 0 and 1, FP8 partial blocks, FP4, bf16, empty experts,
/// alignment 1 and the tile height). Output buffers are poisoned first, so unwritten rows fail.
/// </summary>
[TestFixture]
public sealed class OpTests
{
    private static readonly ReferenceBackend Reference = new();

    [TestCaseSource(typeof(RoutingOpTests), nameof(RoutingOpTests.Cases))]
    public void RoutingOpMatchesReference(OpCase c) => Check(c);

    [TestCaseSource(typeof(DispatchOpTests), nameof(DispatchOpTests.Cases))]
    public void DispatchOpMatchesReference(OpCase c) => Check(c);

    [TestCaseSource(typeof(ExpertOpTests), nameof(ExpertOpTests.Cases))]
    public void ExpertOpMatchesReference(OpCase c) => Check(c);

    [TestCase(true, 0, false)]
    [TestCase(true, 7, false)]
    [TestCase(true, 7, true)]
    [TestCase(false, 1, true)]
    [TestCase(false, 9, false)]
    [TestCase(false, 9, true)]
    public void ComposedLayerMatchesReference(bool v3, int tokens, bool alignToTile)
    {
        var backend = OpenClTestEnvironment.Backend;
        var (graph, weights) = v3 ? CompositeTests.V3Layer() : CompositeTests.V4Layer();
        graph = new SegmentAlignmentPass(alignToTile ? backend.PreferredSegmentAlignment : 1).Run(graph);
        var r = new TestRng(tokens * 3 + 1);
        int d = (int)graph.Values.First(v => v.Name == "x").Shape.Resolve(0)[1];
        var data = new CaseData(graph, weights,
            new() { ["x"] = HostTensor.FromF32(new Shape(tokens, d), r.Floats(tokens * d, -2, 2)) });
        var expected = Conformance.RunSession(data, Reference);
        var actual = Conformance.RunSession(data, backend);
        foreach (var (name, e) in expected)
        {
            Conformance.Compare(name, e, actual[name]);
        }
    }

    private static void Check(OpCase c)
    {
        var backend = OpenClTestEnvironment.Backend;
        var data = c.Build();
        var expected = Conformance.RunSession(data, Reference);
        var actual = Conformance.RunPoisoned(data, backend);
        foreach (var (name, e) in expected)
        {
            Conformance.Compare(name, e, actual[name]);
        }
    }
}
