using Accel.Hosting;
using Accel.Selection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Accel runtime in a service collection.</summary>
public static class AccelServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="IAccelRuntime"/> with <see cref="AccelOptions"/> bound from the configuration
    /// section <c>Accel</c> and validated when the host starts, then lets
    /// <paramref name="configure"/> register backend providers (e.g. <c>accel.AddReference()</c>).
    /// Core registers no backend by itself. Calling it again only runs <paramref name="configure"/>.
    /// Without an <c>IConfiguration</c> service (a plain <c>ServiceCollection</c>) the options keep their
    /// defaults and whatever <paramref name="configure"/> sets.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Registers providers and sets options, or null.</param>
    /// <returns>The service collection so that additional calls can be chained.</returns>
    public static IServiceCollection AddAccel(this IServiceCollection services, Action<AccelBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(AccelMarker)))
        {
            services.AddSingleton<AccelMarker>();
            services.AddOptions<AccelOptions>().ValidateOnStart();
            services.AddSingleton<IConfigureOptions<AccelOptions>>(sp => new ConfigureOptions<AccelOptions>(o =>
                sp.GetService<IConfiguration>()?.GetSection(AccelOptions.SectionName).Bind(o)));
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AccelOptions>, AccelOptionsValidator>());
            services.TryAddSingleton<IAccelEnvironment>(ProcessEnvironment.Instance);
            services.TryAddSingleton<IAccelRuntime, AccelRuntime>();
        }

        configure?.Invoke(new AccelBuilder(services));
        return services;
    }

    /// <summary>Marks a collection that already has the Accel services, so options are bound once.</summary>
    private sealed class AccelMarker;
}
