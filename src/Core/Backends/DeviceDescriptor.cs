namespace Accel.Backends;

/// <summary>What kind of hardware executes a device's work.</summary>
public enum DeviceKind
{
    /// <summary>Host CPU.</summary>
    Cpu,
    /// <summary>Discrete or integrated GPU.</summary>
    Gpu,
    /// <summary>NPU or other accelerator.</summary>
    Accelerator,
    /// <summary>An emulation of another device's shape on this machine.</summary>
    Emulated,
}

/// <summary>Whether a device can be used here.</summary>
public enum DeviceStatus
{
    /// <summary>Real hardware, usable.</summary>
    Present,
    /// <summary>Usable, but emulated on another target.</summary>
    Emulated,
    /// <summary>Not usable here; <see cref="DeviceDescriptor.Note"/> says why.</summary>
    Absent,
}

/// <summary>
/// Where <c>auto</c> ranks a device when no fallback chain is configured: by kind, a GPU or other
/// accelerator first, then the native CPU backend, then other CPU devices (OpenCL on the host), then
/// simulators, then the reference. The provider, which knows what its device is, sets it.
/// </summary>
public enum AutoRank
{
    /// <summary>A GPU (CUDA, or an OpenCL GPU).</summary>
    Gpu = 0,
    /// <summary>An NPU or other accelerator.</summary>
    Accelerator = 1,
    /// <summary>The native, vectorised CPU backend.</summary>
    NativeCpu = 2,
    /// <summary>A CPU reached through a portable runtime (e.g. OpenCL on the host processor).</summary>
    PortableCpu = 3,
    /// <summary>A simulator of another kind of device (e.g. ILGPU's CPU accelerator).</summary>
    Simulator = 4,
    /// <summary>The plain reference implementation.</summary>
    Reference = 5,
    /// <summary>Never chosen by auto (emulated device shapes); it must be named.</summary>
    Never = int.MaxValue,
}

/// <summary>Words for <see cref="AutoRank"/>.</summary>
public static class AutoRanking
{
    /// <summary>The order auto ranks devices in, for messages.</summary>
    public const string Order = "GPU, accelerator, native cpu, OpenCL cpu, simulator, reference";
}

/// <summary>A device a provider can open, as listed by <c>accel devices</c>.</summary>
/// <param name="Id">The device string that selects it (<c>reference</c>, <c>cuda:0</c>, <c>opencl:1</c>, <c>ascend-910b</c>).</param>
/// <param name="Backend">The provider's name.</param>
/// <param name="Name">Human-readable device name.</param>
/// <param name="Kind">Hardware kind.</param>
/// <param name="MemoryBytes">Device memory, or null when unlimited or unknown.</param>
/// <param name="Status">Present, emulated or absent.</param>
/// <param name="Note">Details or the reason it is absent.</param>
/// <param name="Rank">Where <c>auto</c> ranks it (default <see cref="AutoRank.Never"/>).</param>
public sealed record DeviceDescriptor(string Id, string Backend, string Name, DeviceKind Kind, long? MemoryBytes,
    DeviceStatus Status, string Note = "", AutoRank Rank = AutoRank.Never)
{
    /// <summary>True when the device can be opened.</summary>
    public bool IsUsable => Status != DeviceStatus.Absent;

    /// <inheritdoc/>
    public override string ToString() => Id;
}

/// <summary>The answer of <see cref="IBackend.Supports"/>: supported, or not with a reason.</summary>
/// <param name="IsSupported">Whether the backend runs the node.</param>
/// <param name="Reason">Why not (empty when supported).</param>
public readonly record struct OpSupport(bool IsSupported, string Reason)
{
    /// <summary>Supported.</summary>
    public static OpSupport Yes { get; } = new(true, "");

    /// <summary>Not supported, with the reason.</summary>
    public static OpSupport No(string reason) => new(false, reason);
}
