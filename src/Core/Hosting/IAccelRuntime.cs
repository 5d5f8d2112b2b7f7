using Accel.Backends;
using Accel.Moe;
using Accel.Selection;
using Accel.Types;

namespace Accel.Hosting;

/// <summary>
/// The entry point of an application that embeds Accel: lists devices, selects one by
/// precedence (argument, <c>ACCEL_DEVICE</c>, <c>Accel:Device</c>, auto) and creates sessions and
/// MoE layers that own their backends. Thread-safe; it holds no device memory itself.
/// </summary>
public interface IAccelRuntime
{
    /// <summary>Every device of every registered provider, present, emulated or absent.</summary>
    IReadOnlyList<DeviceDescriptor> Devices { get; }

    /// <summary>The registered providers; opens devices and chains for callers that drive backends themselves.</summary>
    BackendRegistry Registry { get; }

    /// <summary>Resolves strict mode: the explicit argument, then <c>ACCEL_STRICT</c>, then <c>Accel:Strict</c>.</summary>
    /// <param name="strict">The explicit choice, or null.</param>
    /// <returns>True when an op fallback must be an error at plan time.</returns>
    bool ResolveStrict(bool? strict = null);

    /// <summary>Opens a selected device followed by the reference device for ops it lacks.</summary>
    /// <param name="selection">The choice made by <see cref="Select"/>.</param>
    /// <returns>The chain; dispose it to close the backends.</returns>
    BackendChain OpenChain(DeviceSelection selection);

    /// <summary>Chooses a device without opening it.</summary>
    /// <param name="device">The explicitly named device, or null to use <c>ACCEL_DEVICE</c>, <c>Accel:Device</c> or auto.</param>
    /// <returns>The device, where the choice came from, and why.</returns>
    DeviceSelection Select(string? device = null);

    /// <summary>
    /// Opens the selected device (followed by <c>reference</c> for ops it lacks, when registered),
    /// validates and places the graph, and uploads its weights.
    /// </summary>
    /// <param name="graph">The graph to run.</param>
    /// <param name="weights">One host tensor per weight value, by name.</param>
    /// <param name="device">The explicitly named device, or null.</param>
    /// <param name="strict">Explicit strict mode, or null for <c>ACCEL_STRICT</c> / <c>Accel:Strict</c>.</param>
    /// <returns>A session that releases its device memory and backends on Dispose.</returns>
    AccelSession CreateSession(Graph.Graph graph, IReadOnlyDictionary<string, HostTensor> weights, string? device = null, bool? strict = null);

    /// <summary>Builds one layer's MoE block on the selected device, like <see cref="CreateSession"/>.</summary>
    /// <param name="config">The layer shape.</param>
    /// <param name="layer">The layer index.</param>
    /// <param name="weights">The layer's weights as loaded by <see cref="MoeWeightLoader"/>.</param>
    /// <param name="device">The explicitly named device, or null.</param>
    /// <param name="strict">Explicit strict mode, or null for <c>ACCEL_STRICT</c> / <c>Accel:Strict</c>.</param>
    /// <param name="mode">The whole block (default), or the experts only with the routing given at each run.</param>
    /// <returns>A layer that releases its device memory and backends on Dispose.</returns>
    AccelMoeLayer CreateMoeLayer(MoeConfig config, int layer, IReadOnlyDictionary<string, HostTensor> weights,
        string? device = null, bool? strict = null, MoeLayerMode mode = MoeLayerMode.Full);
}
