using Accel.Devices;
using Accel.Graph;
using Accel.Types;

namespace Accel.Backends;

/// <summary>
/// Enumerates devices cheaply and opens backends on them (ggml "reg", IREE driver). A provider owns
/// its device names: it says which names it claims and resolves a device string to one of its
/// devices, so Core holds no list of device names.
/// </summary>
public interface IBackendProvider
{
    /// <summary>Provider name (<c>reference</c>, <c>ilgpu</c>, <c>opencl</c>, <c>cpu</c>, <c>ascend</c>, ...).</summary>
    string Name { get; }

    /// <summary>Every device this provider knows, present or not; never throws for a missing runtime.</summary>
    IReadOnlyList<DeviceDescriptor> EnumerateDevices();

    /// <summary>
    /// True when device strings of this name belong to this provider (<c>cuda</c> for <c>cuda:1</c>,
    /// a profile id for a shim). Cheap: it must not start a device runtime.
    /// </summary>
    /// <param name="name">The name part of a device string, without <c>:N</c>.</param>
    bool Claims(string name);

    /// <summary>
    /// The device a claimed spec names: the listed device with that id, or, for a spec without an
    /// ordinal, the first listed device of that name. Null when the provider lists no such device.
    /// </summary>
    /// <param name="spec">A spec whose name this provider claims.</param>
    DeviceDescriptor? Resolve(DeviceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var devices = EnumerateDevices();
        return devices.FirstOrDefault(d => d.Id == spec.ToString())
            ?? devices.FirstOrDefault(d => spec.Matches(d.Id) && d.IsUsable)
            ?? devices.FirstOrDefault(d => spec.Matches(d.Id));
    }

    /// <summary>Opens a backend on a device it resolved; throws <see cref="Errors.BackendUnavailableException"/> if it cannot.</summary>
    IBackend Create(DeviceDescriptor device);
}

/// <summary>A device buffer owned by one backend; disposing it frees the device memory.</summary>
public interface IDeviceBuffer : IDisposable
{
    /// <summary>Name, dtype and concrete shape.</summary>
    TensorDesc Desc { get; }

    /// <summary>The backend that allocated it.</summary>
    IBackend Owner { get; }
}

/// <summary>
/// An opened device: reports what it supports, allocates buffers, moves bytes and executes one op
/// node at a time over its own buffers. Validation happens once in <see cref="BackendBase"/>.
/// </summary>
public interface IBackend : IDisposable
{
    /// <summary>The device this backend runs on.</summary>
    DeviceDescriptor Device { get; }

    /// <summary>
    /// Whether the node (with its input dtypes in <paramref name="graph"/>) runs here. A pure query of
    /// the backend's <see cref="Ops"/>: it never throws and changes nothing.
    /// </summary>
    OpSupport Supports(OpNode node, Graph.Graph graph);

    /// <summary>The ops this backend implements; an op without an entry is not supported.</summary>
    OpTable Ops { get; }

    /// <summary>
    /// Graph rewrites this device prefers when it is the first choice, applied before placement
    /// (e.g. padding expert segments to its GEMM tile height). They never change a graph's results.
    /// </summary>
    IReadOnlyList<Passes.IGraphPass> PreferredPasses => [];

    /// <summary>
    /// Called once per session after placement, with the graph and the nodes placed on this backend in
    /// execution order, before any weight is uploaded: the place to choose fused groups, weight layouts
    /// or to build kernels up front (ONNX Runtime's GetCapability/Compile split). Throws
    /// <see cref="Errors.BackendException"/> when the nodes cannot be prepared.
    /// </summary>
    /// <param name="graph">The validated graph.</param>
    /// <param name="nodes">The nodes this backend will execute.</param>
    void Prepare(Graph.Graph graph, IReadOnlyList<OpNode> nodes) { }

    /// <summary>Allocates a buffer; fails with <see cref="Errors.DeviceMemoryException"/> beyond the device's memory.</summary>
    IDeviceBuffer Allocate(TensorDesc desc);

    /// <summary>Copies host bytes into a buffer; the length must equal the buffer's size.</summary>
    void Upload(IDeviceBuffer destination, ReadOnlySpan<byte> source);

    /// <summary>Copies a buffer's bytes to the host; the length must equal the buffer's size.</summary>
    void Download(IDeviceBuffer source, Span<byte> destination);

    /// <summary>Runs one node. Absent optional inputs are null. Every output buffer is written in full.</summary>
    void Execute(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs);

    /// <summary>Waits until all work submitted so far has finished.</summary>
    void Synchronize();
}
