using Accel.Backends.Ilgpu;
using Accel.Graph;
using Accel.Profiles;
using Accel.Types;

namespace Accel.Backends.Shims;

/// <summary>Direction of a vendor memory copy (aclrtMemcpyKind, cnrtMemTransDir_t, hipMemcpyKind).</summary>
public enum MemcpyKind
{
    /// <summary>Host memory to device memory.</summary>
    HostToDevice,
    /// <summary>Device memory to host memory.</summary>
    DeviceToHost,
    /// <summary>Device memory to device memory.</summary>
    DeviceToDevice,
}

/// <summary>
/// What <see cref="ShimBackend{TRuntime}"/> needs from a vendor runtime: allocation with the vendor's
/// rules, copies, one launch per op node and a wait. Each vendor interface (<c>IAscendRuntime</c>,
/// <c>ICambriconRuntime</c>, <c>IHygonRuntime</c>) extends it with the vendor's own calls; the
/// emulated implementations map them onto an inner Accel backend, a native binding would map them
/// onto the vendor library.
/// </summary>
public interface IShimRuntime : IDisposable
{
    /// <summary>The profile the runtime was opened with.</summary>
    HardwareProfile Profile { get; }

    /// <summary>The execution target the calls are mapped onto (e.g. <c>ilgpu-cpu</c>).</summary>
    string TargetId { get; }

    /// <summary>The inner backend that executes the work (emulation only).</summary>
    IBackend Target { get; }

    /// <summary>Kernel parameters the runtime applied to its target.</summary>
    ShimKernelSettings Kernels { get; }

    /// <summary>Bytes the vendor allocator really reserves for a request of <paramref name="requestBytes"/>.</summary>
    long AllocationSize(long requestBytes);

    /// <summary>Allocates device memory for a tensor of <paramref name="deviceDesc"/> (its device dtype).</summary>
    DeviceMemory Allocate(TensorDesc deviceDesc, long requestBytes);

    /// <summary>Copies host bytes into device memory.</summary>
    void CopyToDevice(DeviceMemory device, ReadOnlySpan<byte> host);

    /// <summary>Copies device memory to the host.</summary>
    void CopyToHost(DeviceMemory device, Span<byte> host);

    /// <summary>Copies device memory to device memory of the same size.</summary>
    void CopyOnDevice(DeviceMemory destination, DeviceMemory source);

    /// <summary>Launches the kernels of one op node over the vendor's execution units.</summary>
    void Launch(OpNode node, IReadOnlyList<DeviceMemory?> inputs, IReadOnlyList<DeviceMemory> outputs);

    /// <summary>Waits for all submitted work.</summary>
    void Synchronize();

    /// <summary>How a node's launch is shaped on the vendor device, for notes and tests (e.g. <c>blockDim 24</c>).</summary>
    string LaunchShape { get; }
}

/// <summary>
/// Device memory of an emulated vendor runtime: the inner target's buffer holding the data, the
/// size the shim asked for (padded to the profile's alignment and tile multiples) and the size the
/// vendor allocator reserves for it (its own rounding on top).
/// </summary>
public sealed class DeviceMemory : IDisposable
{
    private readonly Action<DeviceMemory> _release;
    private IDeviceBuffer? _target;

    internal DeviceMemory(IDeviceBuffer target, long requestBytes, long allocatedBytes, int alignment,
        Action<DeviceMemory> release)
    {
        _target = target;
        RequestBytes = requestBytes;
        AllocatedBytes = allocatedBytes;
        Alignment = alignment;
        _release = release;
    }

    /// <summary>The inner target's buffer (its logical size is the tensor's).</summary>
    public IDeviceBuffer Target => _target ?? throw new ObjectDisposedException(nameof(DeviceMemory));

    /// <summary>The tensor in its device dtype.</summary>
    public TensorDesc Desc => Target.Desc;

    /// <summary>Bytes requested: the tensor padded to tile multiples and the profile's alignment.</summary>
    public long RequestBytes { get; }

    /// <summary>Bytes the vendor allocator reserves (its rounding applied to <see cref="RequestBytes"/>).</summary>
    public long AllocatedBytes { get; }

    /// <summary>The base alignment of the allocation.</summary>
    public int Alignment { get; }

    /// <inheritdoc/>
    public void Dispose()
    {
        var t = Interlocked.Exchange(ref _target, null);
        if (t is not null)
        {
            t.Dispose();
            _release(this);
        }
    }
}
