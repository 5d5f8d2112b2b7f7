namespace Accel.Backends;

/// <summary>
/// The backends opened for one session or layer: the selected device first, then the
/// <c>reference</c> backend as the last fallback. Disposed together, last opened first.
/// </summary>
public sealed class BackendChain : IDisposable
{
    /// <summary>The device id of the reference backend, the end of every chain.</summary>
    public const string ReferenceDeviceId = "reference";

    private readonly List<IBackend> _backends = [];

    private BackendChain() { }

    /// <summary>The chain, first choice first.</summary>
    public IReadOnlyList<IBackend> Backends => _backends;

    /// <summary>The selected device.</summary>
    public IBackend Primary => _backends[0];

    /// <summary>
    /// Opens <paramref name="deviceId"/> of <paramref name="registry"/> (an absent or unknown device is
    /// an error) and, when the registry lists it, the reference backend behind it. On failure every
    /// backend opened so far is closed again.
    /// </summary>
    public static BackendChain Open(BackendRegistry registry, string deviceId)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var chain = new BackendChain();
        try
        {
            chain._backends.Add(registry.Open(deviceId));
            if (deviceId != ReferenceDeviceId && registry.TryFind(ReferenceDeviceId, out var reference) && reference!.IsUsable)
            {
                chain._backends.Add(registry.Open(ReferenceDeviceId));
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
