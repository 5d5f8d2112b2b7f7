using Accel.Backends.OpenCL;
using Accel.Hosting;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the OpenCL devices with <c>services.AddAccel(accel => accel.AddOpenCl())</c>.</summary>
public static class OpenClRegistration
{
    /// <summary>
    /// Adds <c>opencl:N</c> for every OpenCL device found. Options come from
    /// <c>Accel:Backends:OpenCl</c>, then <c>ACCEL_OPENCL_CACHE</c>, then <paramref name="configure"/>.
    /// Compiler logs go to the registered logger. Calling it again only adds the change.
    /// </summary>
    /// <param name="builder">The Accel builder.</param>
    /// <param name="configure">Changes the options in code (highest precedence), or null.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public static AccelBuilder AddOpenCl(this AccelBuilder builder, Func<OpenClOptions, OpenClOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddBackend(OpenClOptions.SectionName, (o, env) => o.WithEnvironment(env), configure,
            (sp, options) => new OpenClProvider(options, sp.GetService<ILoggerFactory>()));
    }
}
