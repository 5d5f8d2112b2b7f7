using System.Collections.Concurrent;
using Accel.Backends;
using Accel.Graph;
using Accel.Moe;

namespace Accel.Conformance.Tests;

/// <summary>How the threads of a <see cref="ConcurrencyTests"/> case share the runtime.</summary>
public enum Sharing
{
    /// <summary>Each thread opens its own backend chain and builds its own layer on it.</summary>
    OwnBackendAndLayer,
    /// <summary>All threads run one layer (one session).</summary>
    OneLayer,
    /// <summary>Each thread builds its own layer, all on one backend chain.</summary>
    OneBackend,
}

/// <summary>
/// Eight threads at once on every device usable here, every result bitwise equal to the same input
/// run alone on that device, in three ways of sharing (<see cref="Sharing"/>). Threads run
/// different token counts (more than a session caches, so plans are built and evicted under
/// contention) and, where each has its own layer, different layers (hash routing, biased top-k,
/// Mixtral's softmax top-2, Qwen's gated shared expert; f32 and bf16 weights).
/// On the simulated devices (ILGPU's CPU accelerator, the emulated profiles) a run takes a good
/// fraction of a second on a small machine, so there each thread runs once and only ilgpu-cpu's
/// shared cases are in the quick subset; the rest is <c>slow</c>.
/// </summary>
public sealed class ConcurrencyTests
{
    private const int Threads = 8;

    private static readonly string[] DeviceIds =
        ["reference", "cpu", "ilgpu-cpu", "opencl:0", "ascend-910b", "cambricon-mlu370-x8", "hygon-k100-ai"];

    private static readonly TestLayer[] Layers =
    [
        new("deepseek-v4-tiny", 0, SyntheticFormat.F32),
        new("deepseek-v4-tiny", 2, SyntheticFormat.BF16),
        new("mixtral-tiny", 1, SyntheticFormat.F32),
        new("qwen2-moe-tiny", 0, SyntheticFormat.F32),
    ];

    private static readonly int[] Tokens = [1, 4, 7, 2, 9, 5, 3, 8];

    private readonly TestDevices.PerDevice<DeviceState> _devices = new(DeviceState.Open);

    /// <summary>Every device with every way of sharing, and how often each thread runs its input.</summary>
    public static IEnumerable<TestCaseData> Cases() =>
        from d in DeviceIds
        from s in Enum.GetValues<Sharing>()
        let simulated = TestDevices.IsSimulated(d)
        let data = new TestCaseData(d, s, simulated ? 1 : 25).SetArgDisplayNames(d, s.ToString())
        select simulated && (d != "ilgpu-cpu" || s == Sharing.OwnBackendAndLayer) ? data.SetCategory("slow") : data;

    [OneTimeTearDown]
    public void Close() => _devices.Dispose();

    [TestCaseSource(nameof(Cases))]
    public void Eight_threads_give_the_results_of_runs_alone(string deviceId, Sharing sharing, int runsPerThread)
    {
        var d = _devices.Get(deviceId);
        var jobs = Enumerable.Range(0, Threads)
            .Select(i => (Layer: sharing == Sharing.OneLayer ? Layers[0] : Layers[i % Layers.Length], Input: new LayerInput(Tokens[i], 500 + i)))
            .ToArray();
        var expected = jobs.Select(j => d.Alone(j.Layer, j.Input)).ToArray();
        long held = d.Allocated();

        var layers = new ConcurrentBag<IDisposable>();
        MoeLayer? shared = sharing == Sharing.OneLayer ? Layers[0].Open(d.Chain.Backends) : null;
        MoeResult[][] results;
        try
        {
            results = RunConcurrently<MoeResult[]>(i =>
            {
                var (layer, input) = jobs[i];
                var moe = shared;
                if (moe is null)
                {
                    // Built on the thread, so weight uploads race with other threads' runs.
                    var chain = sharing == Sharing.OwnBackendAndLayer ? BackendChain.Open(DeviceMatrix.Registry, deviceId) : null;
                    if (chain is not null)
                    {
                        layers.Add(chain);
                    }

                    moe = layer.Open(chain?.Backends ?? d.Chain.Backends);
                    layers.Add(moe);
                }

                return [.. Enumerable.Range(0, runsPerThread).Select(_ => layer.Run(moe, input))];
            });
        }
        finally
        {
            // Layers before the chains they run on.
            foreach (var x in layers.OrderBy(x => x is BackendChain))
            {
                x.Dispose();
            }

            shared?.Dispose();
        }

        for (int i = 0; i < Threads; i++)
        {
            for (int r = 0; r < results[i].Length; r++)
            {
                TestLayer.AssertBitwiseEqual(results[i][r], expected[i], $"thread {i}, {jobs[i].Layer}, {jobs[i].Input}, run {r + 1}");
            }
        }

        Assert.That(d.Allocated(), Is.EqualTo(held), "the layers freed their buffers");
    }

    /// <summary>Every device; on the simulated ones other than ilgpu-cpu the case is <c>slow</c>.</summary>
    public static IEnumerable<TestCaseData> DeviceCases() =>
        from d in DeviceIds
        let data = new TestCaseData(d).SetArgDisplayNames(d)
        select TestDevices.IsSimulated(d) && d != "ilgpu-cpu" ? data.SetCategory("slow") : data;

    /// <summary>
    /// The interleaving the threads hit only by chance, made certain: a whole run of one layer
    /// between the expert products and the SwiGlu of another layer's run on the same backend.
    /// </summary>
    [TestCaseSource(nameof(DeviceCases))]
    public void A_run_of_another_layer_between_two_nodes_of_a_run_changes_neither_result(string deviceId)
    {
        var d = _devices.Get(deviceId);
        var (a, b) = (Layers[1], Layers[2]);
        var (inputA, inputB) = (new LayerInput(7, 600), new LayerInput(5, 601));
        var (expectedA, expectedB) = (d.Alone(a, inputA), d.Alone(b, inputB));
        var hooked = new FaultInjectingBackend(d.Chain.Primary);
        using var layerA = a.Open([hooked, .. d.Chain.Backends.Skip(1)]);
        using var layerB = b.Open(d.Chain.Backends);
        MoeResult? resultB = null;
        hooked.BeforeExecute = node =>
        {
            if (node.Kind == OpKind.SwiGlu && resultB is null)
            {
                resultB = b.Run(layerB, inputB);
            }
        };
        var resultA = a.Run(layerA, inputA);
        Assert.That(resultB, Is.Not.Null, "the other layer ran in the middle of the run");
        TestLayer.AssertBitwiseEqual(resultA, expectedA, $"{a} with {b} run inside it");
        TestLayer.AssertBitwiseEqual(resultB!, expectedB, $"{b} run inside {a}");
    }

    /// <summary>
    /// Starts <see cref="Threads"/> threads together on <paramref name="work"/> (its argument is the
    /// thread's index) and returns what each returned; fails if any thread failed or hung.
    /// </summary>
    private static T[] RunConcurrently<T>(Func<int, T> work)
    {
        var results = new T[Threads];
        var errors = new ConcurrentQueue<string>();
        using var start = new Barrier(Threads);
        var threads = Enumerable.Range(0, Threads).Select(i => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                results[i] = work(i);
            }
            catch (Exception e)
            {
                // The first frames say where a race struck; the message alone rarely does.
                string where = string.Join(" <- ", (e.StackTrace ?? "").Split('\n').Take(9).Select(l => l.Trim()));
                errors.Enqueue($"thread {i}: {e.GetType().Name}: {e.Message} at {where}");
            }
        })
        { Name = $"concurrency-{i}", IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        foreach (var t in threads)
        {
            var left = deadline - DateTime.UtcNow;
            Assert.That(t.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero), Is.True, $"{t.Name} did not finish within 3 minutes (a deadlock?)");
        }

        Assert.That(errors, Is.Empty, "no thread failed");
        return results;
    }

    /// <summary>A device opened for the concurrency cases, with the results of inputs run alone on it.</summary>
    private sealed class DeviceState(BackendChain chain) : IDisposable
    {
        private readonly Dictionary<(TestLayer, LayerInput), MoeResult> _alone = [];

        /// <summary>The device followed by reference.</summary>
        public BackendChain Chain => chain;

        public static DeviceState Open(string deviceId) => new(TestDevices.OpenOrIgnore(deviceId));

        /// <summary>The result of <paramref name="input"/> on a fresh layer, alone on the device (computed once).</summary>
        public MoeResult Alone(TestLayer layer, LayerInput input)
        {
            if (!_alone.TryGetValue((layer, input), out var result))
            {
                using var moe = layer.Open(chain.Backends);
                result = layer.Run(moe, input);
                _alone[(layer, input)] = result;
            }

            return result;
        }

        public long Allocated() => TestDevices.AllocatedBytes(chain.Backends);

        public void Dispose() => chain.Dispose();
    }
}
