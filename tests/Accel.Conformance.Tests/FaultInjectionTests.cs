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
    /// <summary>Whether the row also runs in the quick subset on the simulated (ILGPU CPU) devices.</summary>
    public bool QuickOnSimulated { get; init; }

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
public sealed class FaultInjectionTests
{
    private static readonly string[] DeviceIds = ["reference", "cpu", "ilgpu-cpu", "opencl:0", "ascend-910b"];
    private static readonly TestLayer Layer = new("deepseek-v4-tiny", 2, SyntheticFormat.F32);
    private static readonly LayerInput First = new(5, 11);
    private static readonly LayerInput Second = new(9, 12);

    private static readonly FaultCase[] Table =
    [
        new("first weight allocation", FaultStage.Construction, new(FaultSite.Allocate), typeof(DeviceMemoryException), "Use fewer tokens"),
        new("a later weight allocation", FaultStage.Construction, new(FaultSite.Allocate, 4), typeof(DeviceMemoryException)),
        new("a weight upload", FaultStage.Construction, new(FaultSite.Upload, 3), typeof(BackendException), "injected fault")
        {
            QuickOnSimulated = true,
        },
        new("first activation allocation", FaultStage.FirstRun, new(FaultSite.Allocate), typeof(DeviceMemoryException), "Use fewer tokens"),
        new("a later activation allocation", FaultStage.FirstRun, new(FaultSite.Allocate, 6), typeof(DeviceMemoryException)),
        new("the input upload", FaultStage.FirstRun, new(FaultSite.Upload), typeof(ExecutionException), "input 'hidden_states'"),
        new("the first node", FaultStage.FirstRun, new(FaultSite.Execute), typeof(ExecutionException)),
        new("mid-plan: the up projection", FaultStage.FirstRun, new(FaultSite.Execute, 2, OpKind.GroupedGemm), typeof(ExecutionException), "experts_up")
        {
            QuickOnSimulated = true,
        },
        new("mid-plan: the SwiGlu after both products", FaultStage.FirstRun, new(FaultSite.Execute, 1, OpKind.SwiGlu), typeof(ExecutionException), "experts_swiglu"),
        new("mid-plan: every node from the fifth on", FaultStage.FirstRun, new(FaultSite.Execute, 5, Persistent: true), typeof(ExecutionException)),
        new("an output download", FaultStage.FirstRun, new(FaultSite.Download), typeof(ExecutionException), "output"),
        new("new token count: a node", FaultStage.NewTokenCount, new(FaultSite.Execute, 1, OpKind.Unpermute), typeof(ExecutionException), "combine"),
        new("new token count: out of memory for good", FaultStage.NewTokenCount, new(FaultSite.Allocate, 2, Persistent: true), typeof(DeviceMemoryException)),
        new("new token count: out of memory once (fallback)", FaultStage.NewTokenCount, new(FaultSite.Allocate, 3), null)
        {
            QuickOnSimulated = true,
        },
    ];

    private readonly TestDevices.PerDevice<DeviceState> _devices = new(DeviceState.Open);

    /// <summary>
    /// Every row on every device: the oracle, the fast CPU backend, ILGPU's CPU accelerator, OpenCL
    /// and one emulated profile. On the simulated devices only the rows marked quick skip <c>slow</c>.
    /// </summary>
    public static IEnumerable<TestCaseData> Cases() =>
        from d in DeviceIds
        from c in Table
        let data = new TestCaseData(d, c).SetArgDisplayNames(d, c.Name)
        select TestDevices.IsSimulated(d) && !c.QuickOnSimulated ? data.SetCategory("slow") : data;

    /// <summary>Every device.</summary>
    public static IEnumerable<TestCaseData> Devices() => DeviceIds.Select(d => new TestCaseData(d).SetArgDisplayNames(d));

    [OneTimeTearDown]
    public void Close() => _devices.Dispose();

    [TestCaseSource(nameof(Cases))]
    public void A_fault_is_a_clear_error_leaves_only_the_weights_and_the_layer_runs_again(string deviceId, FaultCase c)
    {
        var d = _devices.Get(deviceId);
        var faulty = d.Faulty;
        Assert.That(d.Allocated(), Is.EqualTo(d.Held), "buffers were left over before this case");
        MoeLayer? layer = null;
        try
        {
            if (c.Stage == FaultStage.Construction)
            {
                faulty.Arm(c.Fault);
                var e = Assert.Throws(c.Error!, () => Layer.Open(d.SessionChain))!;
                CheckError(deviceId, c, e, faulty, tokens: null);
                Assert.That(d.Allocated(), Is.EqualTo(d.Held), "a layer that failed to build frees the weights it uploaded");
                faulty.Clear();
            }

            layer = Layer.Open(d.SessionChain);
            long weights = d.Allocated();
            var (input, clean) = c.Stage == FaultStage.NewTokenCount ? (Second, d.CleanSecond) : (First, d.CleanFirst);
            if (c.Stage == FaultStage.NewTokenCount)
            {
                TestLayer.AssertBitwiseEqual(Layer.Run(layer, First), d.CleanFirst, "the run before the fault");
            }

            if (c.Stage != FaultStage.Construction)
            {
                faulty.Arm(c.Fault);
                if (c.Error is null)
                {
                    TestLayer.AssertBitwiseEqual(Layer.Run(layer, input), clean, "the run that fell back");
                    Assert.That(faulty.Fired, Is.EqualTo(1), "the fault struck");
                    Assert.That(d.Allocated(), Is.EqualTo(weights + d.SecondPlanBytes),
                        "the fallback freed the cached plan and kept only the new one");
                }
                else
                {
                    var e = Assert.Throws(c.Error, () => Layer.Run(layer, input))!;
                    CheckError(deviceId, c, e, faulty, input.Tokens);
                    Assert.That(d.Allocated(), Is.EqualTo(weights), "after a failed run the layer holds only its weights");
                }

                faulty.Clear();
            }

            TestLayer.AssertBitwiseEqual(Layer.Run(layer, input), clean, "the same layer, the fault cleared");
            TestLayer.AssertBitwiseEqual(Layer.Run(layer, First), d.CleanFirst, "the same layer, first input again");
            layer.Dispose();
            Assert.That(d.Allocated(), Is.EqualTo(d.Held), "Dispose frees every buffer the layer allocated");
        }
        finally
        {
            faulty.Clear();
            layer?.Dispose();
        }
    }

    [TestCaseSource(nameof(Devices))]
    public void A_failed_run_after_the_device_flagged_bad_ids_does_not_poison_the_next_run(string deviceId)
    {
        // Kernel backends flag bad ids in a status word read at the next synchronisation; here a
        // later node fails first, so the flag is still set when the run ends.
        var d = _devices.Get(deviceId);
        var g = new GraphBuilder();
        var routed = g.HashRoute("hash_route", g.Input("ids", DType.I32, 3), g.Weight("tid2eid", DType.I32, 4, 2), 8);
        g.Output(g.ExpertHistogram("histogram", routed, 8));
        var graph = g.Build();
        var table = HostTensor.FromI32(new Shape(4, 2), [0, 1, 2, 3, 4, 5, 6, 7]);
        using var session = new GraphSession(graph, d.SessionChain, new Dictionary<string, HostTensor> { ["tid2eid"] = table });
        Dictionary<string, HostTensor> Ids(params int[] ids) => new() { ["ids"] = HostTensor.FromI32(new Shape(3), ids) };
        try
        {
            d.Faulty.Arm(new Fault(FaultSite.Execute, 1, OpKind.ExpertHistogram));
            var e = Assert.Catch<AccelException>(() => session.Run(Ids(0, 9, 1)))!;
            Assert.That(e, Is.TypeOf<ExecutionException>().Or.TypeOf<InvalidInputException>(),
                "the injected failure, or the device's immediate report of id 9");
        }
        finally
        {
            d.Faulty.Clear();
        }

        var counts = session.Run(Ids(0, 3, 1))[graph.Values[graph.Outputs[0]].Name];
        Assert.That(counts.ToI32(), Is.EqualTo(new[] { 1, 1, 1, 1, 0, 0, 1, 1 }));
    }

    private static void CheckError(string deviceId, FaultCase c, Exception e, FaultInjectingBackend faulty, int? tokens)
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

    /// <summary>A device opened for the fault rows, with the clean results and byte counts they compare against.</summary>
    private sealed class DeviceState : IDisposable
    {
        private readonly BackendChain _chain;

        private DeviceState(BackendChain chain)
        {
            _chain = chain;
            Faulty = new FaultInjectingBackend(chain.Primary);
            SessionChain = [Faulty, .. chain.Backends.Skip(1)];
            using (var clean = Layer.Open(chain.Backends))
            {
                CleanFirst = Layer.Run(clean, First);
                CleanSecond = Layer.Run(clean, Second);
            }

            // What the backends hold of their own once both token counts have run (kernel scratch).
            Held = Allocated();

            // The buffers of the second token count's plan alone, and a check that runs repeat bit for bit.
            using var again = Layer.Open(chain.Backends);
            long weights = Allocated();
            TestLayer.AssertBitwiseEqual(Layer.Run(again, Second), CleanSecond, "a second clean layer");
            SecondPlanBytes = Allocated() - weights;
        }

        /// <summary>The device, decorated.</summary>
        public FaultInjectingBackend Faulty { get; }

        /// <summary>The chain the faulted layers run on: the decorated device, then reference.</summary>
        public IBackend[] SessionChain { get; }

        /// <summary>A clean layer's result for <see cref="First"/>.</summary>
        public MoeResult CleanFirst { get; }

        /// <summary>A clean layer's result for <see cref="Second"/>.</summary>
        public MoeResult CleanSecond { get; }

        /// <summary>Bytes the backends hold of their own.</summary>
        public long Held { get; }

        /// <summary>Bytes of the plan for <see cref="Second"/>.</summary>
        public long SecondPlanBytes { get; }

        public static DeviceState Open(string deviceId)
        {
            var chain = TestDevices.OpenOrIgnore(deviceId);
            try
            {
                return new DeviceState(chain);
            }
            catch
            {
                chain.Dispose();
                throw;
            }
        }

        public long Allocated() => TestDevices.AllocatedBytes(_chain.Backends);

        public void Dispose() => _chain.Dispose();
    }
}
