using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Accel.Backends.Cpu.Amx;

namespace Accel.Backends.Cpu.Bf16;

/// <summary>
/// Whether this process may run AVX512-BF16 instructions (<c>vdpbf16ps</c>), for which .NET has
/// no intrinsics, so the kernels are machine code written by <see cref="Bf16Emitter"/>. The
/// processor must report AVX512F (CPUID leaf 7 EBX bit 16) and AVX512_BF16 (leaf 7 sub-leaf 1
/// EAX bit 5), and the operating system must save the SSE, AVX and AVX-512 state (XCR0 bits 1,
/// 2 and 5-7). The backend runs them only with its <c>Bf16Dot</c> option (<c>ACCEL_CPU_BF16=1</c>);
/// <see cref="Disabled"/> turns them off for the whole process whatever the options.
/// </summary>
internal static class Bf16Runtime
{
    /// <summary>XCR0: SSE (1), AVX (2), opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7).</summary>
    private const ulong ZmmStateBits = 0b1110_0110;

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
    public static unsafe IntPtr MapCode(ReadOnlySpan<byte> code)
    {
        try
        {
            return AmxRuntime.MapCode(code);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException("Mapping an AVX512-BF16 kernel into executable memory failed; " +
                "leave ACCEL_CPU_BF16 unset (or 0) where executable pages are not allowed.", e);
        }
    }

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return "the AVX512-BF16 kernels need Linux on x86-64";
        }

        if (!X86Base.IsSupported || X86Base.CpuId(0, 0).Eax < 7)
        {
            return "no CPUID leaf 7";
        }

        if ((X86Base.CpuId(7, 0).Ebx & (1 << 16)) == 0 || !Avx512F.IsSupported)
        {
            return "the processor has no AVX512F (or .NET does not use it)";
        }

        if ((X86Base.CpuId(7, 1).Eax & (1 << 5)) == 0)
        {
            return "the processor has no AVX512_BF16";
        }

        try
        {
            if ((X86Base.CpuId(1, 0).Ecx & (1 << 27)) == 0 || (AmxRuntime.ReadXcr0() & ZmmStateBits) != ZmmStateBits)
            {
                return "the operating system has not enabled the AVX-512 register state (XCR0)";
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return $"reading XCR0 failed: {e.Message}";
        }

        return null;
    }
}
