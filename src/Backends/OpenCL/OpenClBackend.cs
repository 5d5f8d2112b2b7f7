using Accel.Backends.KernelDispatch;
using Accel.Errors;
using Accel.Graph;
using Accel.Kernels;
using Accel.Types;

namespace Accel.Backends.OpenCL;

/// <summary>
/// Runs every op by launching the ILGPU kernels of Accel.Kernels, unchanged, on one OpenCL 1.2+
/// device: ILGPU generates OpenCL C, <see cref="OpenClLowering"/> makes it OpenCL C 1.2, the driver
/// builds it (once per kernel and specialisation; binaries are kept in the disk program cache) and
/// Silk.NET.OpenCL launches it. What to launch per node is decided by the shared
/// <see cref="KernelDispatcher"/>; this class only maps buffers and launches. Buffers stay on the
/// device; the one host round trip is the kernels' status word, read at <see cref="IBackend.Synchronize"/>
/// and before a download.
/// </summary>
public sealed class OpenClBackend : BackendBase, IKernelCacheStats
{
    private readonly OpenClDeviceContext _context;
    private readonly OpenClEngine _engine;
    private readonly KernelDispatcher _dispatcher;
    private readonly Lock _gate = new();
    private readonly Dictionary<OpKind, string> _unbuildable = [];

    private OpenClBackend(DeviceDescriptor device, OpenClDeviceContext context, OpenClOptions options)
        : base(device, options.MemoryLimitBytes ?? context.Device.GlobalMemoryBytes)
    {
        _context = context;
        Options = options;
        _engine = new OpenClEngine(this, context);
        _dispatcher = new KernelDispatcher(_engine, OpenClProvider.ProviderName, options.GemmTile, options.RowGroupSize);
    }

    /// <summary>The options the backend was opened with.</summary>
    public OpenClOptions Options { get; }

    /// <summary>The OpenCL device.</summary>
    public OpenClDeviceInfo DeviceInfo => _context.Device;

    /// <summary>The GEMM tile every GEMM launch uses.</summary>
    public GemmTileSpec GemmTile => _dispatcher.GemmTile;

    /// <summary>The row-group size of the per-token reductions.</summary>
    public RowGroupSpec RowGroup => _dispatcher.RowGroup;

    /// <summary>The segment alignment this backend prefers: the GEMM tile height (any alignment is correct).</summary>
    public int PreferredSegmentAlignment => GemmTile.M;

    /// <summary>Number of kernels loaded so far.</summary>
    public int LoadedKernelCount
    {
        get
        {
            lock (_gate)
            {
                return _engine.LoadedCount;
            }
        }
    }

    /// <inheritdoc/>
    public int KernelsBuilt
    {
        get
        {
            lock (_gate)
            {
                return _engine.Built;
            }
        }
    }

    /// <inheritdoc/>
    public int KernelsFromDiskCache
    {
        get
        {
            lock (_gate)
            {
                return _engine.FromDisk;
            }
        }
    }

    /// <summary>Opens <paramref name="device"/> of <paramref name="runtime"/> (the N of <c>opencl:N</c>).</summary>
    /// <exception cref="BackendUnavailableException">No such device, or the context cannot be created.</exception>
    public static OpenClBackend Create(OpenClRuntime runtime, int device)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var context = runtime.CreateContext(device);
        try
        {
            return new OpenClBackend(OpenClProvider.Describe(context.Device), context, runtime.Options);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    protected override OpSupport SupportsCore(OpNode node, Graph.Graph graph)
    {
        lock (_gate)
        {
            if (_unbuildable.TryGetValue(node.Kind, out var reason))
            {
                return OpSupport.No($"a kernel of {node.Kind} did not build on {Device.Id}: {reason}");
            }
        }

        return KernelDispatcher.Supports(node, graph);
    }

    /// <inheritdoc/>
    protected override IDeviceBuffer AllocateCore(TensorDesc desc) => AllocateBuffer(desc, counted: true);

    /// <summary>A buffer outside the memory budget (the kernels' status word).</summary>
    internal OpenClDeviceBuffer AllocateUncounted(TensorDesc desc) => AllocateBuffer(desc, counted: false);

    /// <inheritdoc/>
    protected override void UploadCore(IDeviceBuffer destination, ReadOnlySpan<byte> source)
    {
        lock (_gate)
        {
            ((OpenClDeviceBuffer)destination).Memory.Upload(source);
        }
    }

    /// <inheritdoc/>
    protected override void DownloadCore(IDeviceBuffer source, Span<byte> destination)
    {
        lock (_gate)
        {
            _dispatcher.CheckStatus();
            ((OpenClDeviceBuffer)source).Memory.Download(destination);
        }
    }

    /// <inheritdoc/>
    protected override void SynchronizeCore()
    {
        lock (_gate)
        {
            try
            {
                _context.Synchronize();
            }
            catch (Exception e) when (e is not AccelException)
            {
                throw new BackendException(Device.Backend, $"Waiting for {Device.Id} failed: {e.Message}", e);
            }

            _dispatcher.CheckStatus();
        }
    }

    /// <inheritdoc/>
    protected override void ExecuteCore(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        lock (_gate)
        {
            try
            {
                _dispatcher.Execute(node, inputs, outputs);
            }
            catch (KernelCompilationException e)
            {
                // The device cannot build this op's kernel: later support checks say so, so a
                // session can place the op elsewhere.
                _unbuildable[node.Kind] = e.Message.Split('\n')[0];
                throw;
            }
            catch (Exception e) when (e is not AccelException)
            {
                throw new BackendException(Device.Backend,
                    $"Node '{node.Name}' ({node.Kind}) failed on {Device.Id}: {e.GetType().Name}: {e.Message}", e);
            }
        }
    }

    /// <summary>Returns a buffer's bytes to the memory budget.</summary>
    internal void Release(OpenClDeviceBuffer buffer) => OnBufferReleased(buffer);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        lock (_gate)
        {
            _dispatcher.Dispose();
            _context.Dispose();
        }
    }

    private OpenClDeviceBuffer AllocateBuffer(TensorDesc desc, bool counted)
    {
        lock (_gate)
        {
            try
            {
                return new OpenClDeviceBuffer(this, desc, _context.AllocateBytes(desc.ByteSize), counted);
            }
            catch (Exception e) when (e is not AccelException)
            {
                throw new DeviceMemoryException(Device.Backend,
                    $"Allocating {Format(desc.ByteSize)} for '{desc.Name}' on {Device.Id} failed ({e.Message}). " +
                    "Use fewer tokens per run or smaller weights (e.g. fp8).");
            }
        }
    }
}
