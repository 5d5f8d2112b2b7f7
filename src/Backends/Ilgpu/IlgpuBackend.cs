using System.Runtime.InteropServices;
using Accel.Backends.KernelDispatch;
using Accel.Errors;
using Accel.Graph;
using Accel.Kernels;
using Accel.Types;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Accel.Backends.Ilgpu;

/// <summary>
/// Runs every op by launching the ILGPU kernels of Accel.Kernels on one ILGPU accelerator (the CPU
/// simulator or a CUDA GPU). Kernels are loaded once per (op, format, specialisation); buffers live in
/// accelerator memory; a node moves no data to the host. The one host round trip is the check of the
/// kernels' status word (invalid ids reported by HashRoute, RouteWeights, the histogram, the
/// permutation, Permute and Unpermute), done at <see cref="IBackend.Synchronize"/> and before a
/// download, not per node.
/// </summary>
public sealed partial class IlgpuBackend : BackendBase
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly IlgpuEngine _engine;
    private readonly KernelDispatcher _dispatcher;
    private readonly Lock _gate = new();

    private IlgpuBackend(DeviceDescriptor device, Context context, Accelerator accelerator, IlgpuOptions options,
        long? memoryLimit)
        : base(device, memoryLimit)
    {
        _context = context;
        _accelerator = accelerator;
        Options = options;
        _engine = new IlgpuEngine(this, accelerator);
        _dispatcher = new KernelDispatcher(_engine, IlgpuProvider.ProviderName, options.GemmTile, options.RowGroupSize);
    }

    /// <summary>The options the backend was opened with.</summary>
    public IlgpuOptions Options { get; }

    /// <summary>The GEMM tile every GEMM launch uses.</summary>
    public GemmTileSpec GemmTile => _dispatcher.GemmTile;

    /// <summary>The row-group size of the per-token reductions.</summary>
    public RowGroupSpec RowGroup => _dispatcher.RowGroup;

    /// <summary>Number of kernels loaded so far (each closed kernel method is loaded once).</summary>
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

    /// <summary>
    /// The segment alignment this backend prefers: the GEMM tile height, so that with
    /// <c>SegmentAlignmentPass(PreferredSegmentAlignment)</c> every row tile belongs to one expert.
    /// Any other alignment (1 included) is also correct, only slower.
    /// </summary>
    public int PreferredSegmentAlignment => GemmTile.M;

    /// <summary>Threads per group of the elementwise kernels.</summary>
    internal int ElementGroup => _dispatcher.ElementGroup;

    /// <summary>Most groups an elementwise (grid-stride) launch uses.</summary>
    internal int MaxElementGroups => _dispatcher.MaxElementGroups;

    /// <summary>Sets up an ILGPU context the way the backends use it (also used by the PTX compile check).</summary>
    public static void ConfigureContext(Context.Builder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Optimize(OptimizationLevel.O1);
    }

    /// <summary>Opens the ILGPU CPU accelerator with the geometry of <paramref name="options"/>.</summary>
    public static IlgpuBackend CreateCpu(IlgpuOptions? options = null)
    {
        options ??= new IlgpuOptions();
        var device = new CPUDevice(options.CpuThreadsPerWarp, options.CpuWarpsPerMultiprocessor, options.CpuMultiprocessors);
        var context = Context.Create(b =>
        {
            ConfigureContext(b);
            b.CPU(device);
        });
        try
        {
            var accelerator = context.CreateCPUAccelerator(0);
            return new IlgpuBackend(IlgpuProvider.CpuDescriptor(options), context, accelerator, options, options.MemoryLimitBytes);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>Opens CUDA device <paramref name="index"/>.</summary>
    internal static IlgpuBackend CreateCuda(DeviceDescriptor descriptor, int index, IlgpuOptions options)
    {
        Context? context = null;
        try
        {
            context = Context.Create(b =>
            {
                ConfigureContext(b);
                b.Cuda();
            });
            var accelerator = context.CreateCudaAccelerator(index);
            return new IlgpuBackend(descriptor, context, accelerator, options,
                options.MemoryLimitBytes ?? accelerator.MemorySize);
        }
        catch (Exception e) when (e is not AccelException)
        {
            context?.Dispose();
            throw new BackendUnavailableException(IlgpuProvider.ProviderName,
                $"Opening {descriptor.Id} ({descriptor.Name}) through ILGPU failed: {e.Message}");
        }
    }

    /// <inheritdoc/>
    protected override OpSupport SupportsCore(OpNode node, Graph.Graph graph) => KernelDispatcher.Supports(node, graph);

    /// <inheritdoc/>
    protected override IDeviceBuffer AllocateCore(TensorDesc desc) => AllocateBuffer(desc, counted: true);

    /// <summary>A buffer outside the memory budget (the kernels' status word).</summary>
    internal IlgpuBuffer AllocateUncounted(TensorDesc desc) => AllocateBuffer(desc, counted: false);

    private IlgpuBuffer AllocateBuffer(TensorDesc desc, bool counted)
    {
        lock (_gate)
        {
            try
            {
                var memory = _accelerator.Allocate1D<byte>(Math.Max(desc.ByteSize, 16));
                return new IlgpuBuffer(this, desc, memory, counted);
            }
            catch (Exception e) when (e is not AccelException)
            {
                throw new DeviceMemoryException(Device.Backend,
                    $"Allocating {Format(desc.ByteSize)} for '{desc.Name}' on {Device.Id} failed ({e.Message}). " +
                    "Use fewer tokens per run or smaller weights (e.g. fp8).");
            }
        }
    }

    /// <inheritdoc/>
    protected override void UploadCore(IDeviceBuffer destination, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty)
        {
            return;
        }

        lock (_gate)
        {
            var view = ((IlgpuBuffer)destination).Bytes;
            view.CopyFromCPU(_accelerator.DefaultStream, ref MemoryMarshal.GetReference(source), source.Length);
        }
    }

    /// <inheritdoc/>
    protected override void DownloadCore(IDeviceBuffer source, Span<byte> destination)
    {
        lock (_gate)
        {
            _dispatcher.CheckStatus();
            if (!destination.IsEmpty)
            {
                var view = ((IlgpuBuffer)source).Bytes;
                view.CopyToCPU(_accelerator.DefaultStream, ref MemoryMarshal.GetReference(destination), destination.Length);
            }
        }
    }

    /// <inheritdoc/>
    protected override void SynchronizeCore()
    {
        lock (_gate)
        {
            try
            {
                _accelerator.Synchronize();
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
            catch (Exception e) when (e is not AccelException)
            {
                throw new BackendException(Device.Backend,
                    $"Node '{node.Name}' ({node.Kind}) failed on {Device.Id}: {e.GetType().Name}: {e.Message}", e);
            }
        }
    }

    /// <summary>Returns a buffer's bytes to the memory budget.</summary>
    internal void Release(IlgpuBuffer buffer) => OnBufferReleased(buffer);

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
            _accelerator.Dispose();
            _context.Dispose();
        }
    }
}
