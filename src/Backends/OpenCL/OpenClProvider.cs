using Microsoft.Extensions.Logging;
using System.Globalization;
using Accel.Errors;

namespace Accel.Backends.OpenCL;

/// <summary>
/// The <c>opencl</c> provider: one device <c>opencl:N</c> per OpenCL device of every platform, in
/// discovery order. Without an OpenCL platform it lists one absent <c>opencl:0</c> whose note says
/// why; listing never throws.
/// </summary>
public sealed class OpenClProvider : IBackendProvider
{
    /// <summary>The provider name.</summary>
    public const string ProviderName = "opencl";

    private readonly OpenClRuntime _runtime;
    private IReadOnlyList<DeviceDescriptor>? _devices;

    /// <summary>Creates the provider; nothing is queried until devices are listed.</summary>
    public OpenClProvider(OpenClOptions? options = null) => _runtime = new OpenClRuntime(options);

    /// <summary>Creates the provider; the compilers' build logs go to a logger of <paramref name="loggers"/>.</summary>
    /// <param name="options">Runtime options, or null for defaults.</param>
    /// <param name="loggers">Creates the logger, or null for none.</param>
    public OpenClProvider(OpenClOptions? options, ILoggerFactory? loggers) =>
        _runtime = new OpenClRuntime(options, loggers?.CreateLogger<OpenClRuntime>());

    /// <summary>The runtime (discovery and program cache) behind the provider.</summary>
    public OpenClRuntime Runtime => _runtime;

    /// <inheritdoc/>
    public string Name => ProviderName;

    /// <inheritdoc/>
    public IReadOnlyList<DeviceDescriptor> EnumerateDevices() => _devices ??= List();

    /// <inheritdoc/>
    public bool Claims(string name) => name == ProviderName;

    /// <inheritdoc/>
    public IBackend Create(DeviceDescriptor device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var id = device.Id.Trim();
        int index = id.Equals("opencl", StringComparison.OrdinalIgnoreCase) ? 0
            : id.StartsWith("opencl:", StringComparison.OrdinalIgnoreCase) &&
              int.TryParse(id.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n
            : throw new BackendUnavailableException(ProviderName,
                $"The opencl provider has no device '{device.Id}'; its devices are opencl:N.");
        return OpenClBackend.Create(_runtime, index);
    }

    /// <summary>The descriptor of a discovered device, with its facts in the note.</summary>
    public static DeviceDescriptor Describe(OpenClDeviceInfo d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var kind = d.Type.HasFlag(OpenClDeviceType.Gpu) ? DeviceKind.Gpu
            : d.Type.HasFlag(OpenClDeviceType.Cpu) ? DeviceKind.Cpu
            : DeviceKind.Accelerator;
        string note = $"{d.Vendor}; {d.Version}; {d.OpenClCVersion.Trim()}, " +
            $"{(d.GenericAddressSpace ? "generic address space" : "no generic address space")}, " +
            $"{(d.SupportsSubgroups ? "sub-groups" : "no sub-groups")}, {(d.SupportsFp16 ? "fp16" : "no fp16")}; " +
            $"{d.ComputeUnits} compute units, {BackendBase.Format(d.GlobalMemoryBytes)} global memory, " +
            $"{BackendBase.Format(d.LocalMemoryBytes)} local memory per group, groups of up to {d.MaxWorkGroupSize}; " +
            $"platform {d.PlatformName}";
        var rank = kind switch
        {
            DeviceKind.Gpu => AutoRank.Gpu,
            DeviceKind.Cpu => AutoRank.PortableCpu,
            _ => AutoRank.Accelerator,
        };
        return new DeviceDescriptor(d.Id, ProviderName, d.Name, kind, d.GlobalMemoryBytes, DeviceStatus.Present, note, rank);
    }

    private List<DeviceDescriptor> List()
    {
        try
        {
            var found = _runtime.Discovery;
            if (found.Devices.Length > 0)
            {
                return [.. found.Devices.Select(Describe)];
            }

            return [Absent(found.EmptyReason ?? "No OpenCL device was found.")];
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return [Absent($"OpenCL discovery failed: {e.Message}")];
        }
    }

    private static DeviceDescriptor Absent(string reason) =>
        new("opencl:0", ProviderName, "OpenCL device", DeviceKind.Gpu, null, DeviceStatus.Absent, reason);
}
