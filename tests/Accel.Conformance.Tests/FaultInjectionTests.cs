using Accel.Backends;
using Accel.Errors;
using Accel.Execution;
using Accel.Graph;
using Accel.Moe;
using Accel.Types;

namespace Accel.Conformance.Tests;

/// <summary>When a fault is armed, relative to the life of the layer under test.</summary>
public enum FaultStage
{
    /// <summary>Before the layer is built: the fault strikes while weights are allocated or uploaded.</summary>
    Construction,
    /// <summary>After the weights are up, before the first run (the first plan is built and run).</summary>
    FirstRun,
    /// <summary>After a first run: the fault strikes the plan for a new token count.</summary>
    NewTokenCount,
}

/// <summary>
/// One row of the fault table: where the fault strikes and what the caller gets.
/// </summary>
/// <param name="Name">What the row is about.</param>
/// <param name="Stage">When the fault is armed.</param>
/// <param name="Fault">The fault.</param>
/// <param name="Error">The exact exception type expected, or null where the session's documented
/// fallback (freeing cached plans when out of memory, then retrying once) makes the run succeed.</param>
/// <param name="Mentions">Text the message must contain besides the device id.</param>
public sealed record FaultCase(string Name, FaultStage Stage, Fault Fault, Type? Error, params string[] Mentions)
{
    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// Faults injected into the device of a layer (<see cref="FaultInjectingBackend"/>), on every device
/// and at every place a fault can strike. Each row checks that the caller gets a clear Accel error
/// that names the device (and the node, or the value being copied) and says what to do, or the
/// documented fallback; that afterwards the layer holds only its weights, and nothing after
/// Dispose; and that the same layer, the fault cleared, gives results bitwise equal to a clean one.
/// Kernel backends keep grow-only scratch buffers of their own (not the session's): the byte counts
/// are measured from what the backends hold once a clean layer has run the same token counts.
/// </summary>
[TestFixtureSource(nameof(Devices))]
public sealed class FaultInjectionTests(string deviceId)
{
    private static readonly TestLayer Layer = new("deepseek-v4-tiny", 2, SyntheticFormat.F32);
    private static readonly LayerInput First = new(5, 11);
    private static readonly LayerInput Second = new(9, 12);

    private BackendChain? _chain;
    private FaultInjectingBackend? _faulty;
    private IBackend[] _sessionChain = [];
    private MoeResult? _cleanFirst;
    private MoeResult? _cleanSecond;
    private long _held;
    private long _secondPlanBytes;

    /// <summary>The devices: the oracle, the fast CPU backend, ILGPU's CPU accelerator, OpenCL and one emulated profile.</summary>
    public static IEnumerable<TestFixtureData> Devices() =>
        new[] { "reference", "cpu", "ilgpu-cpu", "opencl:0", "ascend-910b" }.Select(d => new TestFixtureData(d).SetArgDisplayNames(d));

    /// <summary>The fault table.</summary>
    public static IEnumerable<TestCaseData> Cases() => new FaultCase[]
    {
        new("first weight allocation", FaultStage.Construction, new(FaultSite.Allocate), typeof(DeviceMemoryException), "Use fewer tokens"),
        new("a later weight allocation", FaultStage.Construction, new(FaultSite.Allocate, 4), typeof(DeviceMemoryException)),
        new("a weight upload", FaultStage.Construction, new(FaultSite.Upload, 3), typeof(BackendException), "injected fault"),
        new("first activation allocation", FaultStage.FirstRun, new(FaultSite.Allocate), typeof(DeviceMemoryException), "Use fewer tokens"),
        new("a later activation allocation", FaultStage.FirstRun, new(FaultSite.Allocate, 6), typeof(DeviceMemoryException)),
        new("the input upload", FaultStage.FirstRun, new(FaultSite.Upload), typeof(ExecutionException), "input 'hidden_states'"),
        new("the first node", FaultStage.FirstRun, new(FaultSite.Execute), typeof(ExecutionException)),
        new("mid-plan: the up projection", FaultStage.FirstRun, new(FaultSite.Execute, 2, OpKind.GroupedGemm), typeof(ExecutionException), "experts_up"),
        new("mid-plan: the SwiGlu after both products", FaultStage.FirstRun, new(FaultSite.Execute, 1, OpKind.SwiGlu), typeof(ExecutionException), "experts_swiglu"),
        new("mid-plan: every node from the fifth on", FaultStage.FirstRun, new(FaultSite.Execute, 5, Persistent: true), typeof(ExecutionException)),
        new("an output download", FaultStage.FirstRun, new(FaultSite.Download), typeof(ExecutionException), "output"),
        new("new token count: a node", FaultStage.NewTokenCount, new(FaultSite.Execute, 1, OpKind.Unpermute), typeof(ExecutionException), "combine"),
        new("new token count: out of memory for good", FaultStage.NewTokenCount, new(FaultSite.Allocate, 2, Persistent: true), typeof(DeviceMemoryException)),
        new("new token count: out of memory once (fallback)", FaultStage.NewTokenCount, new(FaultSite.Allocate, 3), null),
    }.Select(c => new TestCaseData(c).SetArgDisplayNames(c.Name));

    [OneTimeSetUp]
    public void Open()
    {
        _chain = TestDevices.OpenOrIgnore(deviceId);
        _faulty = new FaultInjectingBackend(_chain.Primary);
        _sessionChain = [_faulty, .. _chain.Backends.Skip(1)];
        using (var clean = Layer.Open(_chain.Backends))
        {
            _cleanFirst = Layer.Run(clean, First);
            _cleanSecond = Layer.Run(clean, Second);
        }

        // What the backends hold of their own once both token counts have run (kernel scratch).
        _held = Allocated();

        // The buffers of the second token count's plan alone, and a check that runs repeat bit for bit.
        using var again = Layer.Open(_chain.Backends);
        long weights = Allocated();
        TestLayer.AssertBitwiseEqual(Layer.Run(again, Second), _cleanSecond, "a second clean layer");
        _secondPlanBytes = Allocated() - weights;
    }

    [OneTimeTearDown]
    public void Close() => _chain?.Dispose();

    [TestCaseSource(nameof(Cases))]
    public void A_fault_is_a_clear_error_leaves_only_the_weights_and_the_layer_runs_again(FaultCase c)
    {
        var faulty = _faulty!;
        Assert.That(Allocated(), Is.EqualTo(_held), "buffers were left over before this case");
        MoeLayer? layer = null;
        try
        {
            if (c.Stage == FaultStage.Construction)
            {
                faulty.Arm(c.Fault);
                var e = Assert.Throws(c.Error!, () => Layer.Open(_sessionChain))!;
                CheckError(c, e, faulty, tokens: null);
                Assert.That(Allocated(), Is.EqualTo(_held), "a layer that failed to build frees the weights it uploaded");
                faulty.Clear();
            }

            layer = Layer.Open(_sessionChain);
            long weights = Allocated();
            var (input, clean) = c.Stage == FaultStage.NewTokenCount ? (Second, _cleanSecond!) : (First, _cleanFirst!);
            if (c.Stage == FaultStage.NewTokenCount)
            {
                TestLayer.AssertBitwiseEqual(Layer.Run(layer, First), _cleanFirst!, "the run before the fault");
            }

            if (c.Stage != FaultStage.Construction)
            {
                faulty.Arm(c.Fault);
                if (c.Error is null)
                {
                    TestLayer.AssertBitwiseEqual(Layer.Run(layer, input), clean, "the run that fell back");
                    Assert.That(faulty.Fired, Is.EqualTo(1), "the fault struck");
                    Assert.That(Allocated(), Is.EqualTo(weights + _secondPlanBytes),
                        "the fallback freed the cached plan and kept only the new one");
                }
                else
                {
                    var e = Assert.Throws(c.Error, () => Layer.Run(layer, input))!;
                    CheckError(c, e, faulty, input.Tokens);
                    Assert.That(Allocated(), Is.EqualTo(weights), "after a failed run the layer holds only its weights");
                }

                faulty.Clear();
            }

            TestLayer.AssertBitwiseEqual(Layer.Run(layer, input), clean, "the same layer, the fault cleared");
            TestLayer.AssertBitwiseEqual(Layer.Run(layer, First), _cleanFirst!, "the same layer, first input again");
            layer.Dispose();
            Assert.That(Allocated(), Is.EqualTo(_held), "Dispose frees every buffer the layer allocated");
        }
        finally
        {
            faulty.Clear();
            layer?.Dispose();
        }
    }

    [Test]
    public void A_failed_run_after_the_device_flagged_bad_ids_does_not_poison_the_next_run()
    {
        // Kernel backends flag bad ids in a status word read at the next synchronisation; here a
        // later node fails first, so the flag is still set when the run ends.
        var g = new GraphBuilder();
        var routed = g.HashRoute("hash_route", g.Input("ids", DType.I32, 3), g.Weight("tid2eid", DType.I32, 4, 2), 8);
        g.Output(g.ExpertHistogram("histogram", routed, 8));
        var graph = g.Build();
        var table = HostTensor.FromI32(new Shape(4, 2), [0, 1, 2, 3, 4, 5, 6, 7]);
        using var session = new GraphSession(graph, _sessionChain, new Dictionary<string, HostTensor> { ["tid2eid"] = table });
        Dictionary<string, HostTensor> Ids(params int[] ids) => new() { ["ids"] = HostTensor.FromI32(new Shape(3), ids) };
        try
        {
            _faulty!.Arm(new Fault(FaultSite.Execute, 1, OpKind.ExpertHistogram));
            var e = Assert.Catch<AccelException>(() => session.Run(Ids(0, 9, 1)))!;
            Assert.That(e, Is.TypeOf<ExecutionException>().Or.TypeOf<InvalidInputException>(),
                "the injected failure, or the device's immediate report of id 9");
        }
        finally
        {
            _faulty!.Clear();
        }

        var counts = session.Run(Ids(0, 3, 1))[graph.Values[graph.Outputs[0]].Name];
        Assert.That(counts.ToI32(), Is.EqualTo(new[] { 1, 1, 1, 1, 0, 0, 1, 1 }));
    }

    private long Allocated() => TestDevices.AllocatedBytes(_chain!.Backends);

    private void CheckError(FaultCase c, Exception e, FaultInjectingBackend faulty, int? tokens)
    {
        Assert.That(faulty.Fired, Is.GreaterThan(0), "the fault struck");
        Assert.That(e.Message, Does.Contain(deviceId), "the message names the device");
        foreach (string m in c.Mentions)
        {
            Assert.That(e.Message, Does.Contain(m));
        }

        if (e is not ExecutionException x)
        {
            return;
        }

        Assert.That(x.DeviceId, Is.EqualTo(deviceId));
        Assert.That(x.Tokens, Is.EqualTo(tokens));
        Assert.That(x.Message, Does.Contain("can run again").And.Contain("choose another device"), "the message says what to do");
        if (c.Fault.Site == FaultSite.Execute)
        {
            var graph = MoeLayerBuilder.Build(Layer.Config, Layer.Layer, Layer.Weights);
            var node = graph.Nodes.SingleOrDefault(n => n.Name == x.Node);
            Assert.That(node, Is.Not.Null, $"the error names a node of the graph ({x.Node})");
            Assert.That(x.Message, Does.Contain($"'{node!.Name}' ({node.Kind})"));
            Assert.That(node.Kind, Is.EqualTo(c.Fault.Op ?? node.Kind));
            Assert.That(x.InnerException, Is.TypeOf<KernelCompilationException>());
        }
        else
        {
            Assert.That(x.Node, Is.Null);
            Assert.That(x.InnerException, Is.TypeOf<BackendException>());
        }
    }
}
