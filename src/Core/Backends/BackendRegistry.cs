using Accel.Devices;
using Accel.Errors;

namespace Accel.Backends;

/// <summary>
/// The providers an application registered, and the devices they list. A device string is resolved
/// by the provider that claims its name (only that provider is asked to list its devices), and the
/// resolved descriptor is what opens the backend.
/// </summary>
/// <param name="providers">Providers in registration order.</param>
public sealed class BackendRegistry(IEnumerable<IBackendProvider> providers)
{
    private readonly IReadOnlyList<IBackendProvider> _providers = [.. providers];
    private IReadOnlyList<(IBackendProvider Provider, DeviceDescriptor Device)>? _devices;

    /// <summary>The providers.</summary>
    public IReadOnlyList<IBackendProvider> Providers => _providers;

    /// <summary>Every device of every provider (enumerated once, then cached).</summary>
    public IReadOnlyList<DeviceDescriptor> Devices => [.. Enumerate().Select(d => d.Device)];

    /// <summary>The usable reference device that ends every fallback chain (<see cref="AutoRank.Reference"/>), or null.</summary>
    public DeviceDescriptor? Reference =>
        _providers.SelectMany(p => p.EnumerateDevices()).FirstOrDefault(d => d.Rank == AutoRank.Reference && d.IsUsable);

    /// <summary>Finds a device by its device string (<c>cuda</c> finds <c>cuda:0</c>), present or not.</summary>
    /// <param name="id">A device string.</param>
    /// <param name="device">The device, or null.</param>
    /// <returns>True when a provider claims the name and lists such a device.</returns>
    public bool TryFind(string id, out DeviceDescriptor? device)
    {
        device = Resolve(id, out _, out _);
        return device is not null;
    }

    /// <summary>
    /// Opens the device <paramref name="id"/>. An unknown or absent device is an error that lists
    /// what is present; nothing falls back silently.
    /// </summary>
    public IBackend Open(string id) => Open(Require(id));

    /// <summary>Opens a device resolved by <see cref="Require"/> or chosen by the selector.</summary>
    /// <param name="device">The descriptor, as its provider resolved it.</param>
    public IBackend Open(DeviceDescriptor device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (!device.IsUsable)
        {
            throw NotPresent(device.Id, device);
        }

        var provider = _providers.FirstOrDefault(p => p.Name == device.Backend && p.Claims(NameOf(device.Id)))
            ?? _providers.FirstOrDefault(p => p.Claims(NameOf(device.Id)))
            ?? throw new BackendUnavailableException(device.Id,
                $"No registered provider claims the device '{device.Id}'. Devices here: {Usable()}.");
        return provider.Create(device);
    }

    /// <summary>
    /// Resolves the usable device <paramref name="id"/> without opening it. An unknown or absent
    /// device is an error that lists what is present.
    /// </summary>
    public DeviceDescriptor Require(string id)
    {
        var device = Resolve(id, out string? syntaxError, out var claimants);
        if (syntaxError is not null)
        {
            throw new BackendUnavailableException(id, syntaxError);
        }

        if (claimants.Count > 1)
        {
            throw new BackendUnavailableException(id,
                $"The device name '{DeviceSpec.Parse(id).Name}' is claimed by more than one provider ({string.Join(", ", claimants.Select(p => p.Name))}). " +
                "Rename the hardware profile that reuses a backend's name.");
        }

        if (device is null)
        {
            throw new BackendUnavailableException(id,
                $"Unknown device '{id}'. Devices here: {Usable()}. Run 'accel devices' to see every device and why some are absent.");
        }

        if (!device.IsUsable)
        {
            throw NotPresent(id, device);
        }

        return device;
    }

    /// <summary>
    /// The device the one provider claiming <paramref name="id"/>'s name resolves it to, present or
    /// not; null for a malformed id, an unclaimed name or a name claimed twice (see the out values).
    /// </summary>
    private DeviceDescriptor? Resolve(string id, out string? syntaxError, out List<IBackendProvider> claimants)
    {
        claimants = [];
        if (!DeviceSpec.TryParse(id, out var spec, out syntaxError))
        {
            return null;
        }

        claimants = [.. _providers.Where(p => p.Claims(spec.Name))];
        return claimants.Count == 1 ? claimants[0].Resolve(spec) : null;
    }

    private static string NameOf(string id) => DeviceSpec.TryParse(id, out var spec, out _) ? spec.Name : id;

    private BackendUnavailableException NotPresent(string id, DeviceDescriptor device) =>
        new(id, $"Device '{device.Id}' is not present: {device.Note}. Devices here: {Usable()}.");

    private string Usable()
    {
        string usable = string.Join(", ", Enumerate().Where(d => d.Device.IsUsable).Select(d => d.Device.Id));
        return usable.Length > 0 ? usable : "none (no provider lists a usable device; register one, e.g. AddReference())";
    }

    private IReadOnlyList<(IBackendProvider Provider, DeviceDescriptor Device)> Enumerate() =>
        _devices ??= [.. _providers.SelectMany(p => p.EnumerateDevices().Select(d => (p, d)))];
}
