namespace Accel.Backends;

/// <summary>
/// The backends opened for one session or layer: the selected device first, then the
/// <c>reference</c> backend as the last fallback. Disposed together, last opened first.
/// </summary>
public sealed class BackendChain : IDisposable
{
    private readonly List<IBackend> _backends = [];

    private BackendChain() { }

    /// <summary>The chain, first choice first.</summary>
    public IReadOnlyList<IBackend> Backends => _backends;

    /// <summary>The selected device.</summary>
    public IBackend Primary => _backends[0];

    /// <summary>Opens the device string <paramref name="deviceId"/> of <paramref name="registry"/>; see <see cref="Open(BackendRegistry, DeviceDescriptor)"/>.</summary>
    public static BackendChain Open(BackendRegistry registry, string deviceId)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return Open(registry, registry.Require(deviceId));
    }

    /// <summary>
    /// Opens <paramref name="device"/> (an absent device is an error) and, when the registry lists a
    /// usable reference device (<see cref="AutoRank.Reference"/>) other than it, that device behind it.
    /// On failure every backend opened so far is closed again.
    /// </summary>
    public static BackendChain Open(BackendRegistry registry, DeviceDescriptor device)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(device);
        var chain = new BackendChain();
        try
        {
            chain._backends.Add(registry.Open(device));
            if (device.Rank != AutoRank.Reference && registry.Reference is { } reference)
            {
                chain._backends.Add(registry.Open(reference));
            }

            return chain;
        }
        catch
        {
            chain.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        for (int i = _backends.Count - 1; i >= 0; i--)
        {
            _backends[i].Dispose();
        }
    }
}
