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
public sealed partial class IlgpuBackend : KernelBackend
{
    private readonly Context _context;
    private readonly Accelerator _accelerator;
    private readonly IlgpuEngine _engine;

    private IlgpuBackend(DeviceDescriptor device, Context context, Accelerator accelerator, IlgpuOptions options,
        long? memoryLimit)
        : base(device, memoryLimit)
    {
        _context = context;
        _accelerator = accelerator;
        Options = options;
        _engine = new IlgpuEngine(this, accelerator);
        Attach(_engine, IlgpuProvider.ProviderName, options.GemmTile, options.RowGroupSize);
    }

    /// <summary>The options the backend was opened with.</summary>
    public IlgpuOptions Options { get; }

    /// <summary>Number of kernels loaded so far (each closed kernel method is loaded once).</summary>
    public int LoadedKernelCount
    {
        get
        {
            lock (Gate)
            {
                return _engine.LoadedCount;
            }
        }
    }

    /// <summary>Threads per group of the elementwise kernels.</summary>
    internal int ElementGroup => Dispatcher.ElementGroup;

    /// <summary>Most groups an elementwise (grid-stride) launch uses.</summary>
    internal int MaxElementGroups => Dispatcher.MaxElementGroups;

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

    /// <summary>A buffer outside the memory budget (the kernels' status word).</summary>
    internal IlgpuBuffer AllocateUncounted(TensorDesc desc) => (IlgpuBuffer)AllocateUncountedBuffer(desc);

    /// <inheritdoc/>
    protected override IDeviceBuffer CreateBuffer(TensorDesc desc, bool counted) =>
        new IlgpuBuffer(this, desc, _accelerator.Allocate1D<byte>(Math.Max(desc.ByteSize, 16)), counted);

    /// <summary>Returns a buffer's bytes to the memory budget.</summary>
    internal void Release(IlgpuBuffer buffer) => OnBufferReleased(buffer);

    /// <inheritdoc/>
    protected override void DisposeDevice()
    {
        _accelerator.Dispose();
        _context.Dispose();
    }
}
