using Accel.Backends.Shims.Ascend;
using Accel.Backends.Shims.Cambricon;
using Accel.Backends.Shims.Hygon;
using Accel.Errors;
using Accel.Profiles;

namespace Accel.Backends.Shims;

/// <summary>
/// The vendor shims: one device per loaded hardware profile that names a shim (id = profile id,
/// e.g. <c>ascend-910b</c>), emulated on the profile's execution target. Profiles come from the
/// shipped folder plus any folders given, so a user adds a device shape by writing one file.
/// </summary>
public sealed class ShimProvider : IBackendProvider
{
    /// <summary>The provider name.</summary>
    public const string ProviderName = "shim";

    private readonly Lazy<ProfileCatalog> _catalog;
    private IReadOnlyList<DeviceDescriptor>? _devices;

    /// <summary>Creates the provider over <paramref name="catalog"/>, or the shipped profiles when null.</summary>
    public ShimProvider(ProfileCatalog? catalog = null) =>
        _catalog = catalog is null ? new(() => new HardwareProfileLoader().LoadCatalog()) : new(() => catalog);

    /// <summary>Creates the provider over a catalog loaded on first use (profile files are read only when a device is looked up).</summary>
    /// <param name="catalog">Loads the catalog.</param>
    public ShimProvider(Lazy<ProfileCatalog> catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
    }

    /// <inheritdoc/>
    public string Name => ProviderName;

    /// <summary>The profiles the provider knows.</summary>
    public ProfileCatalog Catalog => _catalog.Value;

    /// <inheritdoc/>
    public IReadOnlyList<DeviceDescriptor> EnumerateDevices() =>
        _devices ??= [.. Catalog.Profiles.Where(p => p.Shim != ShimKind.None).Select(Describe)];

    /// <summary>The descriptor of a shim profile.</summary>
    public static DeviceDescriptor Describe(HardwareProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        string vendorModel = $"{profile.Identity.Vendor} {profile.Identity.Model}";
        long? memory = profile.Memory.DeviceMemoryBytes;
        if (EmulatedRuntime.ChooseTarget(profile, out string why) is not { } target)
        {
            return new DeviceDescriptor(profile.Id, profile.Shim.Name(), vendorModel, DeviceKind.Emulated, memory,
                DeviceStatus.Absent, $"{profile.Shim.Name()} shim cannot run it: {why}");
        }

        string note = $"emulated on {target}; {vendorModel}";
        if (memory is null)
        {
            note += "; device memory unknown in the profile, so no memory limit";
        }

        return new DeviceDescriptor(profile.Id, profile.Shim.Name(), vendorModel, DeviceKind.Emulated, memory,
            DeviceStatus.Emulated, note);
    }

    /// <inheritdoc/>
    public bool Claims(string name) => Catalog.TryGet(name, out var profile) && profile.Shim != ShimKind.None;

    /// <inheritdoc/>
    public IBackend Create(DeviceDescriptor device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (!Catalog.TryGet(device.Id, out var profile) || profile.Shim == ShimKind.None)
        {
            throw new BackendUnavailableException(ProviderName,
                $"No shim profile '{device.Id}'. Shim profiles: {string.Join(", ", EnumerateDevices().Select(d => d.Id))}.");
        }

        return Open(profile);
    }

    /// <summary>Opens the shim of <paramref name="profile"/> on its execution target.</summary>
    public static IBackend Open(HardwareProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var device = Describe(profile);
        if (!device.IsUsable)
        {
            throw new BackendUnavailableException(ProviderName, $"Device '{profile.Id}' is not usable: {device.Note}");
        }

        return profile.Shim switch
        {
            ShimKind.Ascend => new ShimBackend<IAscendRuntime>(device, new AclRuntime(profile)),
            ShimKind.Cambricon => new ShimBackend<ICambriconRuntime>(device, new CnrtRuntime(profile)),
            ShimKind.Hygon => new ShimBackend<IHygonRuntime>(device, new HipRuntime(profile)),
            _ => throw new BackendUnavailableException(ProviderName, $"Profile '{profile.Id}' names no shim."),
        };
    }

    /// <summary>
    /// The status of every profile against the devices listed here: a shim profile is emulated (or
    /// absent with why); any other profile is present when a device of its first target is listed
    /// and usable, else absent with what was found.
    /// </summary>
    public static IReadOnlyList<ProfileStatus> Statuses(ProfileCatalog catalog, IReadOnlyList<DeviceDescriptor> devices)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(devices);
        var result = new List<ProfileStatus>();
        foreach (var p in catalog.Profiles)
        {
            if (p.Shim != ShimKind.None)
            {
                var d = Describe(p);
                result.Add(new ProfileStatus(p, d.Status, d.Note));
                continue;
            }

            var target = p.Targets[0];
            var match = devices.FirstOrDefault(d => d.IsUsable && IsTargetDevice(target, d.Id));
            result.Add(match is not null
                ? new ProfileStatus(p, DeviceStatus.Present, $"{target.Name()} device {match.Id} ({match.Name})")
                : new ProfileStatus(p, DeviceStatus.Absent, $"no {target.Name()} device here (present: " +
                    $"{string.Join(", ", devices.Where(d => d.Status == DeviceStatus.Present).Select(d => d.Id))})"));
        }

        return result;
    }

    private static bool IsTargetDevice(ExecutionTarget target, string id) => target switch
    {
        ExecutionTarget.Cuda => id.StartsWith("cuda:", StringComparison.Ordinal),
        ExecutionTarget.OpenCL => id.StartsWith("opencl:", StringComparison.Ordinal),
        ExecutionTarget.IlgpuCpu => id == "ilgpu-cpu",
        ExecutionTarget.Cpu => id == "cpu",
        _ => id == "reference",
    };
}

/// <summary>A hardware profile with its status here.</summary>
/// <param name="Profile">The profile.</param>
/// <param name="Status">Present, emulated or absent.</param>
/// <param name="Note">What runs it, or why it is absent.</param>
public sealed record ProfileStatus(HardwareProfile Profile, DeviceStatus Status, string Note);
