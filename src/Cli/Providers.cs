using Accel.Backends;
using Accel.Backends.Ilgpu;
using Accel.Backends.Reference;
using Accel.Backends.Shims;

namespace Accel.Cli;

/// <summary>The backend providers the command line knows, in the order devices are listed.</summary>
public static class Providers
{
    /// <summary>Creates every provider.</summary>
    public static IReadOnlyList<IBackendProvider> All() => [new ReferenceProvider(), new IlgpuProvider(), new ShimProvider()];
}
