using Accel.Errors;
using Accel.Graph;
using Accel.Types;

namespace Accel.Backends;

/// <summary>
/// Base of every backend: checks arguments, ownership, sizes and the memory limit once, then
/// calls the backend's <c>…Core</c> method. Backends do not re-validate.
/// </summary>
public abstract class BackendBase : IBackend
{
    private readonly object _gate = new();
    private long _allocatedBytes;
    private bool _disposed;

    /// <summary>Creates the base for <paramref name="device"/>.</summary>
    /// <param name="device">The device.</param>
    /// <param name="memoryLimitBytes">Bytes the backend may hold at once (null for no limit).</param>
    protected BackendBase(DeviceDescriptor device, long? memoryLimitBytes)
    {
        Device = device;
        MemoryLimitBytes = memoryLimitBytes;
    }

    /// <inheritdoc/>
    public DeviceDescriptor Device { get; }

    /// <summary>The memory limit applied to allocations, or null.</summary>
    public long? MemoryLimitBytes { get; }

    /// <summary>Bytes currently allocated through this backend.</summary>
    public long AllocatedBytes => Interlocked.Read(ref _allocatedBytes);

    /// <inheritdoc/>
    public OpSupport Supports(OpNode node, Graph.Graph graph)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(graph);
        try
        {
            return SupportsCore(node, graph);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return OpSupport.No($"the support check failed: {e.Message}");
        }
    }

    /// <inheritdoc/>
    public abstract OpTable Ops { get; }

    /// <inheritdoc/>
    public virtual IReadOnlyList<Passes.IGraphPass> PreferredPasses => [];

    /// <inheritdoc/>
    public void Prepare(Graph.Graph graph, IReadOnlyList<OpNode> nodes)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(nodes);
        ObjectDisposedException.ThrowIf(_disposed, this);
        PrepareCore(graph, nodes);
    }

    /// <inheritdoc/>
    public IDeviceBuffer Allocate(TensorDesc desc)
    {
        ArgumentNullException.ThrowIfNull(desc);
        ObjectDisposedException.ThrowIf(_disposed, this);
        long bytes = desc.ByteSize;
        lock (_gate)
        {
            if (MemoryLimitBytes is long limit && _allocatedBytes + bytes > limit)
            {
                throw new DeviceMemoryException(Device.Backend,
                    $"Allocating {Format(bytes)} for '{desc.Name}' on {Device.Id} would exceed its memory limit of " +
                    $"{Format(limit)} ({Format(_allocatedBytes)} already in use). Use fewer tokens per run, " +
                    "smaller weights (e.g. fp8), or a device with more memory.");
            }

            _allocatedBytes += bytes;
        }

        try
        {
            return AllocateCore(desc);
        }
        catch
        {
            Interlocked.Add(ref _allocatedBytes, -bytes);
            throw;
        }
    }

    /// <inheritdoc/>
    public void Upload(IDeviceBuffer destination, ReadOnlySpan<byte> source)
    {
        CheckBuffer(destination, source.Length, "upload");
        UploadCore(destination, source);
    }

    /// <inheritdoc/>
    public void Download(IDeviceBuffer source, Span<byte> destination)
    {
        CheckBuffer(source, destination.Length, "download");
        DownloadCore(source, destination);
    }

    /// <inheritdoc/>
    public void Execute(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        ArgumentNullException.ThrowIfNull(node);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (inputs.Count != node.Inputs.Length || outputs.Count != node.Outputs.Length)
        {
            throw new ArgumentException(
                $"Node '{node.Name}' takes {node.Inputs.Length} inputs and {node.Outputs.Length} outputs, " +
                $"but {inputs.Count} and {outputs.Count} buffers were given.");
        }

        // Index loops: a run executes tens of nodes, and enumerating the lists would allocate per node.
        for (int i = 0; i < inputs.Count; i++)
        {
            CheckOwner(inputs[i]);
        }

        for (int i = 0; i < outputs.Count; i++)
        {
            CheckOwner(outputs[i]);
        }

        ExecuteCore(node, inputs, outputs);
    }

    private void CheckOwner(IDeviceBuffer? b)
    {
        if (b is not null && !ReferenceEquals(b.Owner, this))
        {
            throw new ArgumentException($"Buffer '{b.Desc.Name}' belongs to {b.Owner.Device.Id}, not {Device.Id}.");
        }
    }

    /// <inheritdoc/>
    public void Synchronize()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SynchronizeCore();
    }

    /// <summary>Called by a buffer when it is disposed, to return its bytes to the budget.</summary>
    protected internal void OnBufferReleased(IDeviceBuffer buffer) =>
        Interlocked.Add(ref _allocatedBytes, -buffer.Desc.ByteSize);

    /// <summary>See <see cref="Supports"/>; by default the answer of <see cref="Ops"/>.</summary>
    protected virtual OpSupport SupportsCore(OpNode node, Graph.Graph graph) => Ops.Supports(node, graph);

    /// <summary>See <see cref="Prepare"/>; nothing by default.</summary>
    protected virtual void PrepareCore(Graph.Graph graph, IReadOnlyList<OpNode> nodes) { }

    /// <summary>See <see cref="Allocate"/>; the limit is already checked.</summary>
    protected abstract IDeviceBuffer AllocateCore(TensorDesc desc);

    /// <summary>See <see cref="Upload"/>; the size is already checked.</summary>
    protected abstract void UploadCore(IDeviceBuffer destination, ReadOnlySpan<byte> source);

    /// <summary>See <see cref="Download"/>; the size is already checked.</summary>
    protected abstract void DownloadCore(IDeviceBuffer source, Span<byte> destination);

    /// <summary>See <see cref="Execute"/>; counts and ownership are already checked.</summary>
    protected abstract void ExecuteCore(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs);

    /// <summary>See <see cref="Synchronize"/>.</summary>
    protected virtual void SynchronizeCore() { }

    /// <summary>Releases device resources.</summary>
    protected virtual void Dispose(bool disposing) { }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Formats a byte count for messages (e.g. <c>1.5 GiB</c>).</summary>
    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.##} KiB",
        _ => $"{bytes} B",
    };

    private void CheckBuffer(IDeviceBuffer buffer, int length, string what)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!ReferenceEquals(buffer.Owner, this))
        {
            throw new ArgumentException($"Cannot {what} '{buffer.Desc.Name}': it belongs to {buffer.Owner.Device.Id}, not {Device.Id}.");
        }

        if (length != buffer.Desc.ByteSize)
        {
            throw new ArgumentException(
                $"Cannot {what} '{buffer.Desc.Name}': the buffer holds {buffer.Desc.ByteSize} bytes but {length} were given.");
        }
    }
}
