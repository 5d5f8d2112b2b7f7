using Accel.Backends;
using Accel.Errors;
using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance.Tests;

/// <summary>Which call of a backend an injected fault strikes.</summary>
public enum FaultSite
{
    /// <summary><see cref="IBackend.Allocate"/>: fails as an out-of-memory device would.</summary>
    Allocate,
    /// <summary><see cref="IBackend.Upload"/>: fails as a broken host-to-device copy would.</summary>
    Upload,
    /// <summary><see cref="IBackend.Download"/>: fails as a broken device-to-host copy would.</summary>
    Download,
    /// <summary><see cref="IBackend.Execute"/>: fails as a kernel that does not build would.</summary>
    Execute,
}

/// <summary>
/// A fault to inject: the <paramref name="Nth"/> call (1-based, counted from when the fault is
/// armed) at <paramref name="Site"/> fails; for <see cref="FaultSite.Execute"/> with an
/// <paramref name="Op"/>, only nodes of that kind are counted. A <paramref name="Persistent"/>
/// fault also fails every later such call, as a device that stays broken would.
/// </summary>
/// <param name="Site">Where it strikes.</param>
/// <param name="Nth">Which matching call fails first.</param>
/// <param name="Op">The op kind an Execute fault waits for, or null for any node.</param>
/// <param name="Persistent">Whether every later matching call fails too.</param>
public sealed record Fault(FaultSite Site, int Nth = 1, OpKind? Op = null, bool Persistent = false)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{Site} #{Nth}{(Op is { } op ? $" of {op}" : "")}{(Persistent ? " and after" : "")}";
}

/// <summary>
/// A test-only decorator of any <see cref="IBackend"/> that fails on command (see <see cref="Fault"/>)
/// with the error a real device gives: <see cref="DeviceMemoryException"/> for an allocation,
/// <see cref="BackendException"/> for a copy, <see cref="KernelCompilationException"/> for a node;
/// it can also run a test's own work between two nodes (<see cref="BeforeExecute"/>).
/// A call that does not fail goes to the wrapped backend unchanged, and buffers are the wrapped
/// backend's own, so its <see cref="BackendBase.AllocatedBytes"/> shows what a session holds.
/// Thread-safe. The wrapped backend is not disposed with the decorator.
/// </summary>
/// <param name="inner">The backend to decorate.</param>
public sealed class FaultInjectingBackend(IBackend inner) : IBackend
{
    private readonly Lock _gate = new();
    private Fault? _fault;
    private int _matching;
    private int _fired;

    /// <summary>The decorated backend.</summary>
    public IBackend Inner => inner;

    /// <summary>How many calls failed since the fault was armed.</summary>
    public int Fired
    {
        get
        {
            lock (_gate)
            {
                return _fired;
            }
        }
    }

    /// <summary>
    /// Called before each node that no fault strikes is passed on: lets a test put other work (say,
    /// another layer's whole run) at a chosen point between two nodes of a run.
    /// </summary>
    public Action<OpNode>? BeforeExecute { get; set; }

    /// <inheritdoc/>
    public DeviceDescriptor Device => inner.Device;

    /// <inheritdoc/>
    public OpTable Ops => inner.Ops;

    /// <inheritdoc/>
    public IReadOnlyList<Accel.Passes.IGraphPass> PreferredPasses => inner.PreferredPasses;

    /// <inheritdoc/>
    public void Prepare(Graph.Graph graph, IReadOnlyList<OpNode> nodes) => inner.Prepare(graph, nodes);

    /// <summary>Arms <paramref name="fault"/> (replacing any other), counting calls from now.</summary>
    public void Arm(Fault fault)
    {
        ArgumentNullException.ThrowIfNull(fault);
        ArgumentOutOfRangeException.ThrowIfLessThan(fault.Nth, 1);
        lock (_gate)
        {
            _fault = fault;
            _matching = 0;
            _fired = 0;
        }
    }

    /// <summary>Disarms the fault: every later call reaches the wrapped backend.</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _fault = null;
        }
    }

    /// <inheritdoc/>
    public OpSupport Supports(OpNode node, Graph.Graph graph) => inner.Supports(node, graph);

    /// <inheritdoc/>
    public IDeviceBuffer Allocate(TensorDesc desc)
    {
        ArgumentNullException.ThrowIfNull(desc);
        if (Strikes(FaultSite.Allocate, null))
        {
            throw new DeviceMemoryException(Device.Backend,
                $"Allocating {BackendBase.Format(desc.ByteSize)} for '{desc.Name}' on {Device.Id} failed: the device " +
                "reported out of memory (injected fault). Use fewer tokens per run or a device with more memory.");
        }

        return inner.Allocate(desc);
    }

    /// <inheritdoc/>
    public void Upload(IDeviceBuffer destination, ReadOnlySpan<byte> source)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (Strikes(FaultSite.Upload, null))
        {
            throw CopyFailure("to", destination);
        }

        inner.Upload(destination, source);
    }

    /// <inheritdoc/>
    public void Download(IDeviceBuffer source, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (Strikes(FaultSite.Download, null))
        {
            throw CopyFailure("from", source);
        }

        inner.Download(source, destination);
    }

    /// <inheritdoc/>
    public void Execute(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (Strikes(FaultSite.Execute, node.Kind))
        {
            throw new KernelCompilationException(Device.Backend, node.Kind.ToString(),
                $"injected fault: the {node.Kind} kernel did not build on {Device.Id}");
        }

        BeforeExecute?.Invoke(node);
        inner.Execute(node, inputs, outputs);
    }

    /// <inheritdoc/>
    public void Synchronize() => inner.Synchronize();

    /// <summary>Nothing to free: the wrapped backend belongs to the caller.</summary>
    public void Dispose() { }

    private BackendException CopyFailure(string direction, IDeviceBuffer buffer) => new(Device.Backend,
        $"Copying {BackendBase.Format(buffer.Desc.ByteSize)} {direction} '{buffer.Desc.Name}' on {Device.Id} failed " +
        "(injected fault). Check the device's driver and run again.");

    /// <summary>Counts a call at <paramref name="site"/>; true when the armed fault makes it fail.</summary>
    private bool Strikes(FaultSite site, OpKind? op)
    {
        lock (_gate)
        {
            if (_fault is not { } f || f.Site != site || (f.Op is { } wanted && wanted != op))
            {
                return false;
            }

            _matching++;
            bool strikes = f.Persistent ? _matching >= f.Nth : _matching == f.Nth;
            if (strikes)
            {
                _fired++;
            }

            return strikes;
        }
    }
}
