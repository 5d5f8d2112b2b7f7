using Accel.Errors;
using Accel.Graph;
using Accel.Profiles;
using Accel.Types;

namespace Accel.Backends.Shims.Ascend;

/// <summary>
/// The emulated AscendCL runtime: device, contexts and streams are bookkeeping over one in-order
/// inner target; <c>aclrtMalloc</c> applies ACL's size rule (round up to 32 B, plus 32 B) on top of
/// the profile's alignment; a kernel launch checks <c>blockDim</c> against the profile's AI cores
/// and runs the node's kernels on the target (ILGPU's CPU accelerator shaped by the profile).
/// </summary>
public sealed class AclRuntime : EmulatedRuntime, IAscendRuntime
{
    /// <summary>ACL rounds allocation sizes up to this many bytes...</summary>
    public const int SizeGranule = 32;

    /// <summary>...and adds this many.</summary>
    public const int SizePadding = 32;

    private int _contexts;
    private int _streams;

    /// <summary>Opens device 0 with one context and one stream.</summary>
    public AclRuntime(HardwareProfile profile)
        : base(profile)
    {
        AiCoreCount = (int)(profile.Compute.Units.BaseValueAsInt64
            ?? profile.Kernels.CpuEmulation.Multiprocessors * profile.Kernels.CpuEmulation.WarpsPerMultiprocessor);
        CurrentDevice = new AclDevice(0);
        DefaultStream = CreateStream(CreateContext(CurrentDevice));
    }

    /// <inheritdoc/>
    public int AiCoreCount { get; }

    /// <inheritdoc/>
    public AclDevice CurrentDevice { get; }

    /// <inheritdoc/>
    public AclStream DefaultStream { get; }

    /// <inheritdoc/>
    public override string LaunchShape => $"blockDim {AiCoreCount} (AI cores) on {TargetId}";

    /// <inheritdoc/>
    protected override int BaseAlignment => Math.Max(64, Profile.Memory.EffectiveAlignment);

    /// <inheritdoc/>
    public override long AllocationSize(long requestBytes) => RoundUp(requestBytes, SizeGranule) + SizePadding;

    /// <inheritdoc/>
    public AclContext CreateContext(AclDevice device)
    {
        Require(device == CurrentDevice, $"device {device.Id} is not the current device {CurrentDevice.Id}");
        return new AclContext(device, Interlocked.Increment(ref _contexts));
    }

    /// <inheritdoc/>
    public AclStream CreateStream(AclContext context) => new(context, Interlocked.Increment(ref _streams));

    /// <inheritdoc/>
    public DeviceMemory Malloc(long size, TensorDesc desc) => Allocate(desc, size);

    /// <inheritdoc/>
    public void Memcpy(DeviceMemory destination, ReadOnlySpan<byte> source, MemcpyKind kind)
    {
        Require(kind == MemcpyKind.HostToDevice, $"a host source needs HostToDevice, not {kind}");
        CopyToDevice(destination, source);
    }

    /// <inheritdoc/>
    public void Memcpy(Span<byte> destination, DeviceMemory source, MemcpyKind kind)
    {
        Require(kind == MemcpyKind.DeviceToHost, $"a host destination needs DeviceToHost, not {kind}");
        CopyToHost(source, destination);
    }

    /// <inheritdoc/>
    public void Memcpy(DeviceMemory destination, DeviceMemory source, MemcpyKind kind)
    {
        Require(kind == MemcpyKind.DeviceToDevice, $"two device buffers need DeviceToDevice, not {kind}");
        CopyOnDevice(destination, source);
    }

    /// <inheritdoc/>
    public void LaunchKernel(AclKernel kernel, int blockDim, AclStream stream)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        Require(blockDim >= 1 && blockDim <= AiCoreCount, $"blockDim {blockDim} is outside 1..{AiCoreCount} (AI cores of {Profile.Id})");
        Require(stream.Context.Device == CurrentDevice, $"stream {stream.Id} belongs to device {stream.Context.Device.Id}");
        RunOnTarget(kernel.Node, kernel.Inputs, kernel.Outputs);
    }

    /// <inheritdoc/>
    public void SynchronizeStream(AclStream stream) => Synchronize();

    /// <inheritdoc/>
    public override void Launch(OpNode node, IReadOnlyList<DeviceMemory?> inputs, IReadOnlyList<DeviceMemory> outputs) =>
        LaunchKernel(new AclKernel(node, inputs, outputs), AiCoreCount, DefaultStream);

    private void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new BackendException(Profile.Shim.Name(), $"ACL_ERROR_INVALID_PARAM on {Profile.Id}: {message}.");
        }
    }
}
