using Accel.Backends.Reference;
using Accel.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the reference backend with <c>services.AddAccel(accel => accel.AddReference())</c>.</summary>
public static class ReferenceRegistration
{
    /// <summary>
    /// Adds the <c>reference</c> device: plain C#, always present, the last resort for ops another
    /// device lacks. Calling it twice is harmless.
    /// </summary>
    /// <param name="builder">The Accel builder.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public static AccelBuilder AddReference(this AccelBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddProvider<ReferenceProvider>();
    }
}
