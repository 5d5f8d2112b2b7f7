using Accel.Backends.Cpu;
using Accel.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the fast CPU backend with <c>services.AddAccel(accel => accel.AddCpu())</c>.</summary>
public static class CpuRegistration
{
    /// <summary>
    /// Adds the <c>cpu</c> device (SIMD C# on this machine's processor). Its options come from
    /// <c>Accel:Backends:Cpu</c>, then the <c>ACCEL_CPU_*</c> environment variables, then
    /// <paramref name="configure"/>. Calling it again only adds the change.
    /// </summary>
    /// <param name="builder">The Accel builder.</param>
    /// <param name="configure">Changes the options in code (highest precedence), or null.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public static AccelBuilder AddCpu(this AccelBuilder builder, Func<CpuBackendOptions, CpuBackendOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddBackend(CpuBackendOptions.SectionName, (o, env) => o.WithEnvironment(env), configure,
            (_, options) => new CpuProvider(options));
    }
}
