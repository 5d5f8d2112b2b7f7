using Accel.Errors;
using Accel.Graph;
using Accel.Kernels;
using Accel.Types;

namespace Accel.Backends.KernelDispatch;

/// <summary>
/// Base of the backends that run the ILGPU kernels through a <see cref="KernelDispatcher"/> on an
/// <see cref="IKernelEngine"/> (ILGPU accelerators, OpenCL devices): serialises all device work,
/// moves bytes through the engine, checks the kernels' status word at synchronisation and before a
/// download, turns engine failures into Accel errors naming the node, and remembers ops whose
/// kernels did not build so that later support checks let the planner place them elsewhere.
/// A derived class only opens the device, creates buffers and releases the device.
/// </summary>
public abstract class KernelBackend : BackendBase
{
    private readonly Dictionary<OpKind, string> _unbuildable = [];
    private IKernelEngine? _engine;
    private KernelDispatcher? _dispatcher;

    /// <summary>Creates the base; the derived constructor must call <see cref="Attach"/>.</summary>
    protected KernelBackend(DeviceDescriptor device, long? memoryLimitBytes) : base(device, memoryLimitBytes) { }

    /// <summary>Serialises every call that touches the device.</summary>
    protected Lock Gate { get; } = new();

    /// <summary>The GEMM tile every GEMM launch uses.</summary>
    public GemmTileSpec GemmTile => Dispatcher.GemmTile;

    /// <summary>The row-group size of the per-token reductions.</summary>
    public RowGroupSpec RowGroup => Dispatcher.RowGroup;

    /// <summary>
    /// The segment alignment this backend prefers: the GEMM tile height, so that with
    /// <c>SegmentAlignmentPass(PreferredSegmentAlignment)</c> every row tile belongs to one expert.
    /// Any other alignment (1 included) is also correct, only slower.
    /// </summary>
    public int PreferredSegmentAlignment => GemmTile.M;

    private OpTable? _ops;

    /// <summary>The dispatcher.</summary>
    protected KernelDispatcher Dispatcher =>
        _dispatcher ?? throw new InvalidOperationException("The backend's constructor did not call Attach.");

    private IKernelEngine Engine =>
        _engine ?? throw new InvalidOperationException("The backend's constructor did not call Attach.");

    /// <summary>Connects the engine and a dispatcher over it (once, from the derived constructor).</summary>
    protected void Attach(IKernelEngine engine, string backend, (int M, int N, int K)? gemmTile, int? rowGroupSize)
    {
        _engine = engine;
        _dispatcher = new KernelDispatcher(engine, backend, gemmTile, rowGroupSize);
    }

    /// <summary>Creates a device buffer; <paramref name="counted"/> buffers count against the memory budget.</summary>
    protected abstract IDeviceBuffer CreateBuffer(TensorDesc desc, bool counted);

    /// <summary>Releases the device (the dispatcher is already disposed).</summary>
    protected abstract void DisposeDevice();

    /// <summary>A buffer outside the memory budget (the kernels' status word).</summary>
    protected IDeviceBuffer AllocateUncountedBuffer(TensorDesc desc) => Allocate(desc, counted: false);

    /// <inheritdoc/>
    protected override OpSupport SupportsCore(OpNode node, Graph.Graph graph)
    {
        lock (Gate)
        {
            if (_unbuildable.TryGetValue(node.Kind, out var reason))
            {
                return OpSupport.No($"a kernel of {node.Kind} did not build on {Device.Id}: {reason}");
            }
        }

        return Ops.Supports(node, graph);
    }

    /// <inheritdoc/>
    public override OpTable Ops => _ops ??= KernelDispatcher.Table(Device.Backend);

    /// <summary>Pads expert segments to the GEMM tile height when this device is the first choice (see <see cref="PreferredSegmentAlignment"/>).</summary>
    public override IReadOnlyList<Passes.IGraphPass> PreferredPasses => [new Passes.SegmentAlignmentPass(PreferredSegmentAlignment)];

    /// <inheritdoc/>
    protected override IDeviceBuffer AllocateCore(TensorDesc desc) => Allocate(desc, counted: true);

    /// <inheritdoc/>
    protected override void UploadCore(IDeviceBuffer destination, ReadOnlySpan<byte> source)
    {
        lock (Gate)
        {
            Engine.Write(destination, source);
        }
    }

    /// <inheritdoc/>
    protected override void DownloadCore(IDeviceBuffer source, Span<byte> destination)
    {
        lock (Gate)
        {
            Dispatcher.CheckStatus();
            Engine.Read(source, destination);
        }
    }

    /// <inheritdoc/>
    protected override void SynchronizeCore()
    {
        lock (Gate)
        {
            try
            {
                Engine.Wait();
            }
            catch (Exception e) when (e is not AccelException)
            {
                throw new BackendException(Device.Backend, $"Waiting for {Device.Id} failed: {e.Message}", e);
            }

            Dispatcher.CheckStatus();
        }
    }

    /// <inheritdoc/>
    protected override void ExecuteCore(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        lock (Gate)
        {
            try
            {
                Dispatcher.Execute(node, inputs, outputs);
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

    /// <inheritdoc/>
    protected sealed override void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        lock (Gate)
        {
            _dispatcher?.Dispose();
            DisposeDevice();
        }
    }

    private IDeviceBuffer Allocate(TensorDesc desc, bool counted)
    {
        lock (Gate)
        {
            try
            {
                return CreateBuffer(desc, counted);
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
