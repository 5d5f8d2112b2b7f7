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
public sealed class OpenClBackend : KernelBackend, IKernelCacheStats
{
    private readonly OpenClDeviceContext _context;
    private readonly OpenClEngine _engine;

    private OpenClBackend(DeviceDescriptor device, OpenClDeviceContext context, OpenClOptions options)
        : base(device, options.MemoryLimitBytes ?? context.Device.GlobalMemoryBytes)
    {
        _context = context;
        Options = options;
        _engine = new OpenClEngine(this, context);
        Attach(_engine, OpenClProvider.ProviderName, options.GemmTile, options.RowGroupSize);
    }

    /// <summary>The options the backend was opened with.</summary>
    public OpenClOptions Options { get; }

    /// <summary>The OpenCL device.</summary>
    public OpenClDeviceInfo DeviceInfo => _context.Device;

    /// <summary>Number of kernels loaded so far.</summary>
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

    /// <inheritdoc/>
    public int KernelsBuilt
    {
        get
        {
            lock (Gate)
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
            lock (Gate)
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

    /// <summary>A buffer outside the memory budget (the kernels' status word).</summary>
    internal OpenClDeviceBuffer AllocateUncounted(TensorDesc desc) => (OpenClDeviceBuffer)AllocateUncountedBuffer(desc);

    /// <inheritdoc/>
    protected override IDeviceBuffer CreateBuffer(TensorDesc desc, bool counted) =>
        new OpenClDeviceBuffer(this, desc, _context.AllocateBytes(desc.ByteSize), counted);

    /// <summary>Returns a buffer's bytes to the memory budget.</summary>
    internal void Release(OpenClDeviceBuffer buffer) => OnBufferReleased(buffer);

    /// <inheritdoc/>
    protected override void DisposeDevice() => _context.Dispose();
}
