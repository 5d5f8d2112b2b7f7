using Accel.Backends;
using Accel.Backends.Cpu;
using Accel.Backends.Ilgpu;
using Accel.Backends.OpenCL;
using Accel.Backends.Reference;
using Accel.Backends.Shims;
using Accel.Profiles;

namespace Accel.Cli;

/// <summary>The backend providers the command line knows, in the order devices are listed.</summary>
public static class Providers
{
    /// <summary>Creates every provider (<paramref name="cpu"/> configures the fast cpu backend, e.g. its thread count).</summary>
    public static IReadOnlyList<IBackendProvider> All(CpuBackendOptions? cpu = null) =>
        [new ReferenceProvider(), new CpuProvider(cpu), new IlgpuProvider(), new OpenClProvider(), new ShimProvider()];

    /// <summary>
    /// Creates every provider; the shims also list the profiles in <c>Accel:ProfileDirectories</c>
    /// (relative folders are taken from the working directory of <paramref name="context"/>).
    /// </summary>
    public static IReadOnlyList<IBackendProvider> All(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var folders = context.LoadOptions().ProfileDirectories
            .Select(f => Path.GetFullPath(f, context.WorkingDirectory)).ToList();
        if (folders.Count == 0)
        {
            return All();
        }

        var catalog = new HardwareProfileLoader().LoadCatalog(folders);
        return [new ReferenceProvider(), new CpuProvider(), new IlgpuProvider(), new OpenClProvider(), new ShimProvider(catalog)];
    }
}
