using Accel.Backends.Cpu.Emit;

namespace Accel.Backends.Cpu.Bf16;

/// <summary>
/// Whether this process may run AVX512-BF16 instructions (<c>vdpbf16ps</c>), for which .NET has
/// no intrinsics, so the kernels are machine code written by <see cref="Emit.Avx512Emitter"/>. The
/// processor must report AVX512F (CPUID leaf 7 EBX bit 16) and AVX512_BF16 (leaf 7 sub-leaf 1
/// EAX bit 5), and the operating system must save the SSE, AVX and AVX-512 state (XCR0 bits 1,
/// 2 and 5-7). The backend runs them only with its <c>Bf16Dot</c> option (<c>ACCEL_CPU_BF16=1</c>);
/// <see cref="Disabled"/> turns them off for the whole process whatever the options.
/// </summary>
internal static class Bf16Runtime
{
    private static readonly Lazy<string?> Unsupported = new(Probe);

    /// <summary>Turns the BF16 kernels off (calls then throw instead of running).</summary>
    public static volatile bool Disabled;

    /// <summary>True when the BF16 kernels can run in this process and are not disabled.</summary>
    public static bool IsAvailable => WhyUnavailable is null;

    /// <summary>Why the BF16 kernels are not used here, or null when they are available.</summary>
    public static string? WhyUnavailable =>
        Unsupported.Value ??
        (Disabled ? "the AVX512-BF16 kernels are disabled in this process" : null);

    /// <summary>True when the processor and operating system support the kernels, disabled or not.</summary>
    public static bool IsSupported => Unsupported.Value is null;

    /// <summary>Throws when the kernels cannot run (running them anyway would kill the process with #UD).</summary>
    /// <exception cref="InvalidOperationException">The kernels are unsupported or disabled.</exception>
    public static void Require()
    {
        string? why = WhyUnavailable;
        if (why is not null)
        {
            throw new InvalidOperationException($"AVX512-BF16 kernels cannot run here: {why}.");
        }
    }

    /// <summary>Copies <paramref name="code"/> into a new read-only executable page.</summary>
    public static IntPtr MapCode(ReadOnlySpan<byte> code) => Avx512Support.MapCode(code, "AVX512-BF16", "ACCEL_CPU_BF16");

    private static string? Probe() => Avx512Support.WhyNot("AVX512_BF16", Avx512Support.HasBf16);
}
