using Accel.Backends;
using Accel.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Accel.Composition;

/// <summary>The services built by <see cref="AccelComposition.Create"/>: the runtime and what it was built from.</summary>
public sealed class AccelServices : IDisposable
{
    private readonly ServiceProvider _provider;

    internal AccelServices(ServiceProvider provider)
    {
        _provider = provider;
        Runtime = provider.GetRequiredService<IAccelRuntime>();
    }

    /// <summary>The runtime: devices, selection, sessions and layers.</summary>
    public IAccelRuntime Runtime { get; }

    /// <summary>The registered providers and their devices.</summary>
    public BackendRegistry Registry => Runtime.Registry;

    /// <summary>The options in effect.</summary>
    public AccelOptions Options => _provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<AccelOptions>>().Value;

    /// <summary>A registered service, e.g. a backend's options (<c>Get&lt;CpuBackendOptions&gt;()</c>).</summary>
    /// <typeparam name="T">The service type.</typeparam>
    public T Get<T>() where T : notnull => _provider.GetRequiredService<T>();

    /// <inheritdoc/>
    public void Dispose() => _provider.Dispose();
}
