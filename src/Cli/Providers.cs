using Accel.Backends;
using Accel.Backends.Cpu;
using Accel.Backends.Reference;

namespace Accel.Cli;

/// <summary>The backend providers the command line knows, in one place (add new providers here).</summary>
public static class Providers
{
    /// <summary>Every provider; <paramref name="cpu"/> configures the CPU backend (null for its defaults).</summary>
    public static IReadOnlyList<IBackendProvider> All(CpuBackendOptions? cpu = null) =>
        [new ReferenceProvider(), new CpuProvider(cpu)];
}
