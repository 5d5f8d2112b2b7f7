using Accel.Errors;

namespace Accel.Backends;

/// <summary>
/// The providers an application registered, and the devices they list. Opens a device by its id
/// and builds the fallback chain that ends with the reference backend.
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

    /// <summary>Finds a listed device by id.</summary>
    public bool TryFind(string id, out DeviceDescriptor? device)
    {
        device = Enumerate().Select(d => d.Device).FirstOrDefault(d => d.Id == id);
        return device is not null;
    }

    /// <summary>
    /// Opens the device <paramref name="id"/>. An unknown or absent device is an error that lists
    /// what is present; nothing falls back silently.
    /// </summary>
    public IBackend Open(string id)
    {
        var (provider, device) = Lookup(id);
        return provider.Create(device);
    }

    /// <summary>
    /// Returns the listed, usable device <paramref name="id"/> without opening it. An unknown or
    /// absent device is the same error as in <see cref="Open"/>.
    /// </summary>
    public DeviceDescriptor Require(string id) => Lookup(id).Device;

    private (IBackendProvider Provider, DeviceDescriptor Device) Lookup(string id)
    {
        var match = Enumerate().FirstOrDefault(d => d.Device.Id == id);
        if (match.Provider is null)
        {
            throw new BackendUnavailableException(id,
                $"Unknown device '{id}'. Devices here: {Usable()}. Run 'accel devices' to see every device and why some are absent.");
        }

        if (!match.Device.IsUsable)
        {
            throw new BackendUnavailableException(id,
                $"Device '{id}' is not present: {match.Device.Note}. Devices here: {Usable()}.");
        }

        return match;
    }

    private string Usable()
    {
        string usable = string.Join(", ", Enumerate().Where(d => d.Device.IsUsable).Select(d => d.Device.Id));
        return usable.Length > 0 ? usable : "none (no provider lists a usable device; register one, e.g. AddReference())";
    }

    private IReadOnlyList<(IBackendProvider Provider, DeviceDescriptor Device)> Enumerate() =>
        _devices ??= [.. _providers.SelectMany(p => p.EnumerateDevices().Select(d => (p, d)))];
}
