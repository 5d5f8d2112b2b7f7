using System.Collections.Concurrent;
using Accel.Backends;
using Accel.Errors;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Conformance.Tests;

/// <summary>
/// A small MoE layer of a preset with seeded weights (loaded once per process) and seeded inputs,
/// for the fault and concurrency tests.
/// </summary>
/// <param name="Preset">A name of <see cref="MoePresets.All"/>.</param>
/// <param name="Layer">The layer index (a hash layer also takes token ids).</param>
/// <param name="Format">How the synthetic checkpoint stores the expert weights.</param>
public sealed record TestLayer(string Preset, int Layer, SyntheticFormat Format)
{
    private static readonly ConcurrentDictionary<TestLayer, IReadOnlyDictionary<string, HostTensor>> Loaded = new();

    /// <summary>The layer shape.</summary>
    public MoeConfig Config => MoePresets.All[Preset];

    /// <summary>The layer's weights as the loader returns them.</summary>
    public IReadOnlyDictionary<string, HostTensor> Weights => Loaded.GetOrAdd(this, l =>
        MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(l.Config, l.Layer, l.Format)), l.Config, l.Layer));

    /// <summary>Builds the layer on <paramref name="chain"/>.</summary>
    public MoeLayer Open(IReadOnlyList<IBackend> chain) => new(Config, Layer, Weights, chain);

    /// <summary>Runs the seeded input <paramref name="input"/> on <paramref name="layer"/>.</summary>
    public MoeResult Run(MoeLayer layer, LayerInput input)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(input);
        var hidden = SyntheticCheckpoint.Activations(input.Tokens, Config.Hidden, input.Seed);
        var ids = Config.IsHashLayer(Layer) ? SyntheticCheckpoint.TokenIds(input.Tokens, Config.Vocab, input.Seed) : null;
        return layer.Run(hidden, ids);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Preset} layer {Layer} {Format}";

    /// <summary>Asserts that two results are equal bit for bit (output, ids and weights).</summary>
    public static void AssertBitwiseEqual(MoeResult actual, MoeResult expected, string what)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(expected);
        Assert.Multiple(() =>
        {
            AssertSameBytes(actual.Output, expected.Output, what + ": output");
            AssertSameBytes(actual.TopkIds, expected.TopkIds, what + ": topk_ids");
            AssertSameBytes(actual.TopkWeights, expected.TopkWeights, what + ": topk_weights");
        });
    }

    private static void AssertSameBytes(HostTensor actual, HostTensor expected, string what)
    {
        Assert.That(actual.ToString(), Is.EqualTo(expected.ToString()), what + " (dtype and shape)");
        Assert.That(actual.ReadOnlyBytes.ToArray(), Is.EqualTo(expected.ReadOnlyBytes.ToArray()), what + " (bytes)");
    }
}

/// <summary>One seeded input of a <see cref="TestLayer"/>.</summary>
/// <param name="Tokens">Rows of hidden_states.</param>
/// <param name="Seed">Seed of the activations (and of the token ids of a hash layer).</param>
public sealed record LayerInput(int Tokens, int Seed)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Tokens} tokens (seed {Seed})";
}

/// <summary>Opens devices of <see cref="DeviceMatrix.Registry"/> for a test, ignoring the test where one is absent.</summary>
public static class TestDevices
{
    /// <summary>
    /// Opens <paramref name="deviceId"/> followed by <c>reference</c> (the fallback chain a session
    /// gets), or marks the test ignored with the reason when the device is not usable here.
    /// </summary>
    public static BackendChain OpenOrIgnore(string deviceId)
    {
        if (!DeviceMatrix.Registry.TryFind(deviceId, out var device) || device is null)
        {
            Assert.Ignore($"{deviceId} is not listed by any provider.");
        }

        if (!device!.IsUsable)
        {
            Assert.Ignore($"{deviceId} is not present: {device.Note}");
        }

        try
        {
            return BackendChain.Open(DeviceMatrix.Registry, deviceId);
        }
        catch (BackendUnavailableException e)
        {
            Assert.Ignore($"{deviceId} cannot be opened: {e.Message}");
            throw;
        }
    }

    /// <summary>
    /// Whatever a test class keeps per device (an opened chain and its baseline results), opened on
    /// first use by a test case of that device and disposed together at the end of the class.
    /// </summary>
    /// <typeparam name="TState">The per-device state.</typeparam>
    /// <param name="open">Opens the state of a device (may mark the test ignored).</param>
    public sealed class PerDevice<TState>(Func<string, TState> open) : IDisposable
        where TState : IDisposable
    {
        private readonly Dictionary<string, TState> _states = [];

        /// <summary>The state of <paramref name="deviceId"/>, opened now if this is its first test.</summary>
        public TState Get(string deviceId)
        {
            if (!_states.TryGetValue(deviceId, out var state))
            {
                state = open(deviceId);
                _states[deviceId] = state;
            }

            return state;
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            foreach (var s in _states.Values)
            {
                s.Dispose();
            }

            _states.Clear();
        }
    }

    /// <summary>
    /// Whether <paramref name="deviceId"/> runs the kernels on ILGPU's CPU accelerator (ilgpu-cpu and
    /// the emulated profiles): correct but slow on a small machine, so most of their rows are <c>slow</c>.
    /// </summary>
    public static bool IsSimulated(string deviceId) =>
        DeviceMatrix.Registry.TryFind(deviceId, out var d) && d is not null
        && (d.Id == "ilgpu-cpu" || d.Kind == DeviceKind.Emulated);

    /// <summary>Bytes allocated through every backend of <paramref name="chain"/> (each a <see cref="BackendBase"/>).</summary>
    public static long AllocatedBytes(IEnumerable<IBackend> chain) =>
        chain.Sum(b => b is FaultInjectingBackend f ? AllocatedBytes([f.Inner]) : ((BackendBase)b).AllocatedBytes);
}
