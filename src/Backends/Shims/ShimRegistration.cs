using Accel.Backends.Shims;
using Accel.Hosting;
using Accel.Profiles;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the vendor shims with <c>services.AddAccel(accel => accel.AddShims())</c>.</summary>
public static class ShimRegistration
{
    /// <summary>
    /// Adds one emulated device per hardware profile that names a shim: the shipped profiles, then
    /// the folders of <c>Accel:ProfileDirectories</c>, then <paramref name="folders"/> (later folders
    /// override earlier ids). Relative folders are taken from the process's working directory.
    /// </summary>
    /// <param name="builder">The Accel builder.</param>
    /// <param name="folders">More profile folders, or none.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public static AccelBuilder AddShims(this AccelBuilder builder, params IEnumerable<string> folders)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var extra = folders.ToList();
        return builder.AddProvider(sp =>
        {
            var configured = sp.GetService<IOptions<AccelOptions>>()?.Value.ProfileDirectories ?? [];
            return new ShimProvider(new Lazy<ProfileCatalog>(() =>
                new HardwareProfileLoader().LoadCatalog([.. configured.Concat(extra).Select(f => Path.GetFullPath(f))])));
        });
    }
}
