using Accel.Backends.Ilgpu;
using Accel.Errors;
using Accel.Graph;
using Accel.Profiles;
using Accel.Types;

namespace Accel.Backends.Shims;

/// <summary>
/// The part every emulated vendor runtime shares: the inner execution target opened from the
/// profile (ILGPU's CPU accelerator with the profile's geometry, GEMM tile and row group), device
/// memory accounted at the size the vendor allocator reserves, and copies. The vendor classes add
/// their allocation rule, launch shape and API names. A native binding replaces the whole class.
/// </summary>
public abstract class EmulatedRuntime : IShimRuntime
{
    private readonly Lock _gate = new();
    private long _reserved;
    private bool _disposed;

    /// <summary>Opens the execution target the profile names.</summary>
    /// <exception cref="BackendUnavailableException">The profile names no target this shim can drive.</exception>
    protected EmulatedRuntime(HardwareProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        Profile = profile;
        TargetId = ChooseTarget(profile, out string why)
            ?? throw new BackendUnavailableException(profile.Shim.Name(), $"Profile '{profile.Id}': {why}");
        Kernels = ShimKernelSettings.Resolve(profile);
        MemoryLimitBytes = profile.Memory.DeviceMemoryBytes;
        Ilgpu = IlgpuBackend.CreateCpu(Kernels.ToIlgpuOptions(MemoryLimitBytes));
    }

    /// <inheritdoc/>
    public HardwareProfile Profile { get; }

    /// <inheritdoc/>
    public string TargetId { get; }

    /// <inheritdoc/>
    public IBackend Target => Ilgpu;

    /// <summary>The inner ILGPU backend (its tile, row group and geometry come from the profile).</summary>
    public IlgpuBackend Ilgpu { get; }

    /// <inheritdoc/>
    public ShimKernelSettings Kernels { get; }

    /// <summary>The device memory of the profile, or null where it is unknown (no limit then).</summary>
    public long? MemoryLimitBytes { get; }

    /// <summary>Bytes reserved by live allocations, at the vendor allocator's sizes.</summary>
    public long ReservedBytes => Interlocked.Read(ref _reserved);

    /// <inheritdoc/>
    public abstract string LaunchShape { get; }

    /// <summary>The base alignment of the vendor allocator.</summary>
    protected abstract int BaseAlignment { get; }

    /// <inheritdoc/>
    public abstract long AllocationSize(long requestBytes);

    /// <summary>
    /// The first target in the profile's list that the emulation can drive, or null with the reason.
    /// Only <c>ilgpu-cpu</c> is driven here: this branch has no OpenCL backend class to map onto, so
    /// <c>opencl</c> is skipped (and <c>reference</c> is the planner's fallback, not a shim target).
    /// </summary>
    public static string? ChooseTarget(HardwareProfile profile, out string why)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (profile.Targets.Contains(ExecutionTarget.IlgpuCpu))
        {
            why = "";
            return ExecutionTarget.IlgpuCpu.Name();
        }

        why = $"its targets ({string.Join(", ", profile.Targets.Select(t => t.Name()))}) include no target the " +
            "shim emulation drives (ilgpu-cpu; opencl is not available on this build).";
        return null;
    }

    /// <inheritdoc/>
    public DeviceMemory Allocate(TensorDesc deviceDesc, long requestBytes)
    {
        ArgumentNullException.ThrowIfNull(deviceDesc);
        ObjectDisposedException.ThrowIf(_disposed, this);
        long bytes = AllocationSize(requestBytes);
        lock (_gate)
        {
            if (MemoryLimitBytes is long limit && _reserved + bytes > limit)
            {
                throw new DeviceMemoryException(Profile.Shim.Name(),
                    $"Allocating {BackendBase.Format(bytes)} (padded from {BackendBase.Format(deviceDesc.ByteSize)}) for " +
                    $"'{deviceDesc.Name}' on {Profile.Id} would exceed its memory of {BackendBase.Format(limit)} " +
                    $"({BackendBase.Format(_reserved)} in use). Use fewer tokens, smaller weights, or a profile with more memory.");
            }

            _reserved += bytes;
        }

        try
        {
            var target = Ilgpu.Allocate(deviceDesc);
            return new DeviceMemory(target, requestBytes, bytes, BaseAlignment, m => Interlocked.Add(ref _reserved, -m.AllocatedBytes));
        }
        catch
        {
            Interlocked.Add(ref _reserved, -bytes);
            throw;
        }
    }

    /// <inheritdoc/>
    public void CopyToDevice(DeviceMemory device, ReadOnlySpan<byte> host) => Ilgpu.Upload(device.Target, host);

    /// <inheritdoc/>
    public void CopyToHost(DeviceMemory device, Span<byte> host) => Ilgpu.Download(device.Target, host);

    /// <summary>A device-to-device copy (staged through the host in the emulation).</summary>
    public void CopyOnDevice(DeviceMemory destination, DeviceMemory source)
    {
        var staging = new byte[source.Desc.ByteSize];
        Ilgpu.Download(source.Target, staging);
        Ilgpu.Upload(destination.Target, staging);
    }

    /// <inheritdoc/>
    public abstract void Launch(OpNode node, IReadOnlyList<DeviceMemory?> inputs, IReadOnlyList<DeviceMemory> outputs);

    /// <summary>Runs a node's kernels on the inner target (what a vendor launch maps onto).</summary>
    protected void RunOnTarget(OpNode node, IReadOnlyList<DeviceMemory?> inputs, IReadOnlyList<DeviceMemory> outputs)
    {
        ArgumentNullException.ThrowIfNull(node);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Ilgpu.Execute(node, [.. inputs.Select(m => m?.Target)], [.. outputs.Select(m => m.Target)]);
    }

    /// <inheritdoc/>
    public void Synchronize() => Ilgpu.Synchronize();

    /// <summary>Rounds <paramref name="value"/> up to a multiple of <paramref name="multiple"/>.</summary>
    public static long RoundUp(long value, long multiple) => multiple <= 1 ? value : (value + multiple - 1) / multiple * multiple;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Ilgpu.Dispose();
        GC.SuppressFinalize(this);
    }
}
