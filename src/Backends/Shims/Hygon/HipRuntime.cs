using Accel.Errors;
using Accel.Graph;
using Accel.Profiles;
using Accel.Types;

namespace Accel.Backends.Shims.Hygon;

/// <summary>
/// The emulated HIP runtime: streams are bookkeeping over one in-order inner target; hipMalloc
/// pads to the profile's alignment (none where the profile does not know one); a launch checks that
/// the block is a whole number of wavefronts and at most the block limit, then runs the node's
/// kernels on the target. The wavefront is the profile's warp width, or, where the profile leaves
/// it unknown, the emulated warp (64 for the DCU profiles).
/// </summary>
public sealed class HipRuntime : EmulatedRuntime, IHygonRuntime
{
    private int _streams;

    /// <summary>Opens the device with one stream.</summary>
    public HipRuntime(HardwareProfile profile)
        : base(profile)
    {
        WarpSize = (int)(profile.Compute.WarpWidth.BaseValueAsInt64 ?? profile.Kernels.CpuEmulation.ThreadsPerWarp);
        MultiProcessorCount = (int)(profile.Compute.Units.BaseValueAsInt64 ?? profile.Kernels.CpuEmulation.Multiprocessors);
        DefaultStream = StreamCreate();
    }

    /// <inheritdoc/>
    public int WarpSize { get; }

    /// <inheritdoc/>
    public int MultiProcessorCount { get; }

    /// <inheritdoc/>
    public int MaxThreadsPerBlock => 1024;

    /// <inheritdoc/>
    public HipStream DefaultStream { get; }

    /// <summary>The block the shim launches with: the row group rounded up to whole wavefronts.</summary>
    public HipDim3 DefaultBlock => new((int)RoundUp(Math.Max(Kernels.RowGroup.Size, WarpSize), WarpSize));

    /// <inheritdoc/>
    public override string LaunchShape =>
        $"grid {MultiProcessorCount} x block {DefaultBlock.X} (wavefront {WarpSize}) on {TargetId}";

    /// <inheritdoc/>
    protected override int BaseAlignment => Math.Max(1, Profile.Memory.EffectiveAlignment);

    /// <inheritdoc/>
    public override long AllocationSize(long requestBytes) => RoundUp(requestBytes, BaseAlignment);

    /// <inheritdoc/>
    public HipStream StreamCreate() => new(Interlocked.Increment(ref _streams));

    /// <inheritdoc/>
    public DeviceMemory HipMalloc(long size, TensorDesc desc) => Allocate(desc, size);

    /// <inheritdoc/>
    public void HipMemcpy(DeviceMemory destination, ReadOnlySpan<byte> source, MemcpyKind kind)
    {
        Require(kind == MemcpyKind.HostToDevice, "hipErrorInvalidMemcpyDirection", $"a host source needs HostToDevice, not {kind}");
        CopyToDevice(destination, source);
    }

    /// <inheritdoc/>
    public void HipMemcpy(Span<byte> destination, DeviceMemory source, MemcpyKind kind)
    {
        Require(kind == MemcpyKind.DeviceToHost, "hipErrorInvalidMemcpyDirection", $"a host destination needs DeviceToHost, not {kind}");
        CopyToHost(source, destination);
    }

    /// <inheritdoc/>
    public void HipMemcpy(DeviceMemory destination, DeviceMemory source, MemcpyKind kind)
    {
        Require(kind == MemcpyKind.DeviceToDevice, "hipErrorInvalidMemcpyDirection", $"two device buffers need DeviceToDevice, not {kind}");
        CopyOnDevice(destination, source);
    }

    /// <inheritdoc/>
    public void LaunchKernel(HipKernel kernel, HipDim3 grid, HipDim3 block, int sharedMemBytes, HipStream stream)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        Require(grid.Count >= 1, "hipErrorInvalidConfiguration", $"grid {grid} is empty");
        Require(block.Count >= 1 && block.Count <= MaxThreadsPerBlock, "hipErrorInvalidConfiguration",
            $"block {block} is outside 1..{MaxThreadsPerBlock} threads");
        Require(block.Count % WarpSize == 0, "hipErrorInvalidConfiguration",
            $"block {block} is not a whole number of {WarpSize}-wide wavefronts");
        RunOnTarget(kernel.Node, kernel.Inputs, kernel.Outputs);
    }

    /// <inheritdoc/>
    public void StreamSynchronize(HipStream stream) => Synchronize();

    /// <inheritdoc/>
    public override void Launch(OpNode node, IReadOnlyList<DeviceMemory?> inputs, IReadOnlyList<DeviceMemory> outputs) =>
        LaunchKernel(new HipKernel(node, inputs, outputs), new HipDim3(MultiProcessorCount), DefaultBlock, 0, DefaultStream);

    private void Require(bool condition, string code, string message)
    {
        if (!condition)
        {
            throw new BackendException(Profile.Shim.Name(), $"{code} on {Profile.Id}: {message}.");
        }
    }
}
