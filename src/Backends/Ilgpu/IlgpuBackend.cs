using System.Runtime.InteropServices;
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
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _status;
    private readonly List<OpNode> _checkedNodes = [];
    private readonly Dictionary<string, IlgpuBuffer> _scratch = [];
    private readonly Lock _gate = new();

    private IlgpuBackend(DeviceDescriptor device, Context context, Accelerator accelerator, IlgpuOptions options,
        long? memoryLimit)
        : base(device, memoryLimit)
    {
        _context = context;
        _accelerator = accelerator;
        Options = options;
        GemmTile = options.GemmTile is { } t
            ? Specialisations.FindTile(t.M, t.N, t.K) ?? throw new ArgumentException(
                $"No GEMM tile {t.M}x{t.N}x{t.K} is shipped; choose one of {string.Join(", ", Specialisations.Tiles)}.")
            : Specialisations.BestTile(accelerator.MaxNumThreadsPerGroup, accelerator.MaxSharedMemoryPerGroup);
        RowGroup = options.RowGroupSize is int g
            ? Specialisations.FindRowGroup(g) ?? throw new ArgumentException(
                $"No row group of {g} threads is shipped; choose one of {string.Join(", ", Specialisations.RowGroups)}.")
            : Specialisations.BestRowGroup(accelerator.MaxNumThreadsPerGroup);
        ElementGroup = Math.Min(256, accelerator.MaxNumThreadsPerGroup);
        MaxElementGroups = Math.Max(1, accelerator.MaxNumThreads / ElementGroup * 4);
        _status = accelerator.Allocate1D<int>(KernelStatus.Length);
        _status.MemSetToZero();
    }

    /// <summary>The options the backend was opened with.</summary>
    public IlgpuOptions Options { get; }

    /// <summary>The GEMM tile every GEMM launch uses.</summary>
    public GemmTileSpec GemmTile { get; }

    /// <summary>The row-group size of the per-token reductions.</summary>
    public RowGroupSpec RowGroup { get; }

    /// <summary>
    /// The segment alignment this backend prefers: the GEMM tile height, so that with
    /// <c>SegmentAlignmentPass(PreferredSegmentAlignment)</c> every row tile belongs to one expert.
    /// Any other alignment (1 included) is also correct, only slower.
    /// </summary>
    public int PreferredSegmentAlignment => GemmTile.M;

    /// <summary>Threads per group of the elementwise kernels.</summary>
    internal int ElementGroup { get; }

    /// <summary>Most groups an elementwise (grid-stride) launch uses.</summary>
    internal int MaxElementGroups { get; }

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
    protected override IDeviceBuffer AllocateCore(TensorDesc desc)
    {
        lock (_gate)
        {
            try
            {
                var memory = _accelerator.Allocate1D<byte>(Math.Max(desc.ByteSize, 16));
                return new IlgpuBuffer(this, desc, memory);
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
            CheckStatus();
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

            CheckStatus();
        }
    }

    /// <inheritdoc/>
    protected override void ExecuteCore(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        var i = inputs.Select(b => (IlgpuBuffer?)b).ToArray();
        var o = outputs.Select(b => (IlgpuBuffer)b).ToArray();
        lock (_gate)
        {
            try
            {
                Run(node, i, o);
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
            foreach (var b in _scratch.Values)
            {
                b.Dispose();
            }

            _scratch.Clear();
            _status.Dispose();
            _accelerator.Dispose();
            _context.Dispose();
        }
    }

    /// <summary>
    /// A backend-owned work buffer named <paramref name="slot"/> of at least <paramref name="elements"/>
    /// elements, reused by later nodes (all work runs in order on one stream). It counts against the
    /// memory limit; growing it first waits for the device.
    /// </summary>
    private IlgpuBuffer Scratch(string slot, DType type, long elements)
    {
        long bytes = type.ByteSize(elements);
        if (_scratch.TryGetValue(slot, out var existing))
        {
            if (existing.Desc.ByteSize >= bytes)
            {
                return existing;
            }

            _accelerator.Synchronize();
            existing.Dispose();
            _scratch.Remove(slot);
        }

        var created = (IlgpuBuffer)Allocate(new TensorDesc($"scratch:{slot}", type, new Shape(Math.Max(elements, 1))));
        _scratch[slot] = created;
        return created;
    }
}
