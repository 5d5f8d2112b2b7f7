using Accel.Backends;
using Accel.Backends.Reference;
using Accel.Execution;
using Accel.Graph;
using Accel.Moe;

namespace Accel.Conformance.Tests;

/// <summary>
/// Every op against every backend's op table: an op with an entry runs its quick cases like the
/// reference (or is refused with a reason by the entry's check), an op without one is refused and
/// planned onto the reference.
/// </summary>
[TestFixtureSource(typeof(DeviceMatrix), nameof(DeviceMatrix.Fixtures))]
public sealed class OpTableTests(string deviceId)
{
    private IBackend? _device;
    private ConformanceRunner? _runner;

    private static IEnumerable<OpKind> Kinds => Enum.GetValues<OpKind>();

    [OneTimeSetUp]
    public void Open()
    {
        if (!DeviceMatrix.Registry.TryFind(deviceId, out var device) || device is null || !device.IsUsable)
        {
            Assert.Ignore($"{deviceId} is not present here: {device?.Note}");
        }

        _device = DeviceMatrix.Registry.Open(device);
        _runner = new ConformanceRunner();
    }

    [OneTimeTearDown]
    public void Close()
    {
        _runner?.Dispose();
        _device?.Dispose();
    }

    [TestCaseSource(nameof(Kinds))]
    public void An_op_runs_if_and_only_if_the_table_has_it(OpKind kind)
    {
        var cases = CaseCatalog.Quick.Where(c => c.Op == kind).ToList();
        Assert.That(cases, Is.Not.Empty, $"{kind} needs quick conformance cases");
        var c = cases[0];
        var problem = CaseCatalog.Build(c);
        var node = problem.Graph.Nodes.First(n => n.Kind == kind);
        var support = _device!.Supports(node, problem.Graph);
        if (!_device.Ops.Implements(kind))
        {
            Assert.That(support.IsSupported, Is.False, $"{deviceId} has no entry for {kind} but claims to run it");
            Assert.That(support.Reason, Does.Contain(kind.ToString()));
            using var reference = new ReferenceBackend();
            var placed = Planner.Place(problem.Graph, [_device, reference], strict: false);
            Assert.That(placed.Single(p => ReferenceEquals(p.Node, node)).Backend, Is.EqualTo(1), "planned onto the reference");
            return;
        }

        var result = _runner!.Run(c, _device);
        Assert.That(result.Status, Is.Not.EqualTo(CaseStatus.Fail), $"{c.Id}: {result.Detail}");
        Assert.That(result.Status == CaseStatus.Ok, Is.EqualTo(support.IsSupported),
            $"Supports said {support} but the case ran {result.Status}: {result.Detail}");
    }

    [Test]
    public void An_op_removed_from_the_table_plans_onto_the_reference_and_the_layer_still_matches()
    {
        var config = MoePresets.All["deepseek-v3-tiny"];
        const int layer = 1;
        var weights = MoeWeightLoader.Load(new Accel.IO.InMemoryTensorSource(
            SyntheticCheckpoint.Create(config, layer, SyntheticFormat.Fp8, seed: 5)), config, layer);
        var x = SyntheticCheckpoint.Activations(7, config.Hidden, seed: 6);
        using var reference = new ReferenceBackend();
        using var oracle = new MoeLayer(config, layer, weights, [reference]);
        var expected = oracle.Run(x).Output.ToF32();

        using var partial = new PerturbingBackend(_device!, null, OpKind.SwiGlu);
        using var moe = new MoeLayer(config, layer, weights, [partial, reference]);
        Assert.That(moe.Session.Placements.Where(p => p.Node.Kind == OpKind.SwiGlu).Select(p => p.Backend), Has.All.EqualTo(1));
        Assert.That(moe.Session.Placements.Where(p => p.Node.Kind == OpKind.GroupedGemm).Select(p => p.Backend), Has.All.EqualTo(0));
        double error = Metrics.RelativeError(moe.Run(x).Output.ToF32(), expected);
        Assert.That(error, Is.LessThan(Tolerances.QuantizedGemm), $"{deviceId} with SwiGlu on the reference");
    }
}
