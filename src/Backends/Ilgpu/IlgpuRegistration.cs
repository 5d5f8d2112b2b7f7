using Accel.Backends.Ilgpu;
using Accel.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the ILGPU devices with <c>services.AddAccel(accel => accel.AddIlgpu())</c>.</summary>
public static class IlgpuRegistration
{
    /// <summary>
    /// Adds <c>ilgpu-cpu</c> (ILGPU's CPU simulator) and <c>cuda:N</c> for every CUDA device found. Options
    /// come from <c>Accel:Backends:Ilgpu</c>, then <paramref name="configure"/>. Calling it again only adds the change.
    /// </summary>
    /// <param name="builder">The Accel builder.</param>
    /// <param name="configure">Changes the options in code (highest precedence), or null.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public static AccelBuilder AddIlgpu(this AccelBuilder builder, Func<IlgpuOptions, IlgpuOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddBackend(IlgpuOptions.SectionName, environment: null, configure, (_, options) => new IlgpuProvider(options));
    }
}
