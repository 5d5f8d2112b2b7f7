using Accel.Backends;
using Accel.Backends.Reference;

namespace Accel.Cli;

/// <summary>An opened device followed by the reference backend as the last fallback; disposes both.</summary>
public sealed class DeviceChain : IDisposable
{
    private readonly List<IBackend> _backends = [];

    private DeviceChain() { }

    /// <summary>The chain, first choice first.</summary>
    public IReadOnlyList<IBackend> Backends => _backends;

    /// <summary>The selected device.</summary>
    public IBackend Primary => _backends[0];

    /// <summary>Opens <paramref name="deviceId"/> (an absent or unknown device is an error).</summary>
    public static DeviceChain Open(string deviceId) => Open(new BackendRegistry(Providers.All()), deviceId);

    /// <summary>Opens <paramref name="deviceId"/> of <paramref name="registry"/> (an absent or unknown device is an error).</summary>
    public static DeviceChain Open(BackendRegistry registry, string deviceId)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var chain = new DeviceChain();
        chain._backends.Add(registry.Open(deviceId));
        if (deviceId != ReferenceProvider.DeviceId)
        {
            chain._backends.Add(new ReferenceBackend());
        }

        return chain;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var b in _backends)
        {
            b.Dispose();
        }
    }
}
