using Accel.Backends;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Accel.Hosting;

/// <summary>
/// Registers backend providers and options for Accel; obtained from
/// <c>services.AddAccel(accel => accel.AddReference())</c>. Backend packages add their own
/// <c>Add…</c> extensions on this type.
/// </summary>
public sealed class AccelBuilder
{
    /// <summary>Creates a builder over <paramref name="services"/>.</summary>
    /// <param name="services">The service collection that <c>AddAccel</c> was called on.</param>
    public AccelBuilder(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        Services = services;
    }

    /// <summary>The service collection.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Registers the provider type <typeparamref name="TProvider"/> once (a second call is harmless).</summary>
    /// <typeparam name="TProvider">The provider, created by the container.</typeparam>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public AccelBuilder AddProvider<TProvider>()
        where TProvider : class, IBackendProvider
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IBackendProvider, TProvider>());
        return this;
    }

    /// <summary>
    /// Registers the provider type <typeparamref name="TProvider"/> once, created by
    /// <paramref name="factory"/> (e.g. with options resolved from the container).
    /// </summary>
    /// <typeparam name="TProvider">The provider.</typeparam>
    /// <param name="factory">Creates the provider.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public AccelBuilder AddProvider<TProvider>(Func<IServiceProvider, TProvider> factory)
        where TProvider : class, IBackendProvider
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IBackendProvider, TProvider>(factory));
        return this;
    }

    /// <summary>
    /// Registers a provider instance. Registration is per provider type: a second instance of a
    /// type that is already registered is ignored, like a second call.
    /// </summary>
    /// <param name="provider">The provider.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public AccelBuilder AddProvider(IBackendProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        Services.TryAddEnumerable(ServiceDescriptor.Singleton(typeof(IBackendProvider), provider));
        return this;
    }

    /// <summary>Configures <see cref="AccelOptions"/> in code (runs after binding the <c>Accel</c> section).</summary>
    /// <param name="configure">Sets options.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public AccelBuilder Configure(Action<AccelOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        return this;
    }
}
