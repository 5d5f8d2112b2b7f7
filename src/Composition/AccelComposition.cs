using Accel.Hosting;
using Accel.Selection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Accel.Composition;

/// <summary>
/// The composition root: the one list of backends Accel ships, and the one way to build a runtime
/// over them with or without a host. The command line, the tests, the samples and the native library
/// all come through here, so adding a backend is one line in <see cref="AddAllBackends"/>.
/// </summary>
public static class AccelComposition
{
    /// <summary>
    /// Registers every shipped backend, in the order <c>accel devices</c> lists them: reference, cpu,
    /// ilgpu (ilgpu-cpu, cuda:N), opencl:N, and the vendor shims over the shipped profiles, the
    /// folders of <c>Accel:ProfileDirectories</c> and <paramref name="profileFolders"/>.
    /// </summary>
    /// <param name="builder">The Accel builder.</param>
    /// <param name="profileFolders">More hardware-profile folders for the shims.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public static AccelBuilder AddAllBackends(this AccelBuilder builder, params IEnumerable<string> profileFolders)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddReference().AddCpu().AddIlgpu().AddOpenCl().AddShims(profileFolders);
    }

    /// <summary>
    /// Builds the services of an application without a host: <c>AddAccel</c> with every shipped backend,
    /// options bound from <paramref name="configuration"/> (sections <c>Accel</c> and <c>Accel:Backends:*</c>),
    /// environment variables read from <paramref name="environment"/>, then <paramref name="configure"/>
    /// (highest precedence, e.g. <c>a =&gt; a.AddCpu(o =&gt; o with { Threads = 4 })</c>). The options of
    /// Accel and of every backend are read and validated here, so a bad configuration or environment
    /// variable fails now with a <see cref="Errors.ConfigException"/>.
    /// </summary>
    /// <param name="configuration">The configuration, or null for none.</param>
    /// <param name="environment">Where <c>ACCEL_*</c> variables are read (default: the process).</param>
    /// <param name="loggers">Receives the runtime's logs (default: none).</param>
    /// <param name="configure">More registrations and options in code, or null.</param>
    /// <returns>The services; dispose them to release every provider.</returns>
    public static AccelServices Create(IConfiguration? configuration = null, IAccelEnvironment? environment = null,
        ILoggerFactory? loggers = null, Action<AccelBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        if (configuration is not null)
        {
            services.AddSingleton(configuration);
        }

        services.AddSingleton(environment ?? ProcessEnvironment.Instance);
        services.AddSingleton(loggers ?? NullLoggerFactory.Instance);
        services.AddAccel(accel =>
        {
            accel.AddAllBackends();
            configure?.Invoke(accel);
        });
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        try
        {
            _ = provider.GetRequiredService<IOptions<AccelOptions>>().Value;
            _ = provider.GetServices<Backends.IBackendProvider>().ToList(); // binds every backend's options now
            return new AccelServices(provider);
        }
        catch (Errors.ConfigException)
        {
            provider.Dispose();
            throw;
        }
        catch (OptionsValidationException e)
        {
            provider.Dispose();
            throw AccelOptions.Invalid(e.Failures);
        }
        catch (InvalidOperationException e)
        {
            provider.Dispose();
            throw AccelOptions.Unreadable(e);
        }
    }
}
