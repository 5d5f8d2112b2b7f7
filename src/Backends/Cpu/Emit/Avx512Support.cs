using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Accel.Backends.Cpu.Amx;

namespace Accel.Backends.Cpu.Emit;

/// <summary>
/// Whether machine code written at run time with AVX-512 instructions that .NET has no
/// intrinsics for can run in this process: Linux on x86-64, AVX512F and AVX512BW (as .NET sees
/// them), the extension itself (a CPUID leaf 7 bit), and the operating system saving the SSE,
/// AVX and AVX-512 register state (XCR0 bits 1, 2 and 5-7).
/// </summary>
internal static class Avx512Support
{
    /// <summary>XCR0: SSE (1), AVX (2), opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7).</summary>
    private const ulong ZmmStateBits = 0b1110_0110;

    /// <summary>CPUID leaf 7 sub-leaf 1 EAX bit 5.</summary>
    public static bool HasBf16() => (X86Base.CpuId(7, 1).Eax & (1 << 5)) != 0;

    /// <summary>CPUID leaf 7 sub-leaf 0 ECX bit 1 (AVX512_VBMI, for <c>vpermb</c>).</summary>
    public static bool HasVbmi() => (X86Base.CpuId(7, 0).Ecx & (1 << 1)) != 0;

    /// <summary>CPUID leaf 7 sub-leaf 0 ECX bit 11.</summary>
    public static bool HasVnni() => (X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0;

    /// <summary>
    /// Why kernels that use <paramref name="extension"/> (e.g. AVX512_BF16) cannot run here, or
    /// null when they can; <paramref name="present"/> reads its CPUID bit (called only once leaf 7 exists).
    /// </summary>
    public static string? WhyNot(string extension, Func<bool> present)
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return $"the {extension} kernels need Linux on x86-64";
        }

        if (!X86Base.IsSupported || X86Base.CpuId(0, 0).Eax < 7)
        {
            return "no CPUID leaf 7";
        }

        if (!Avx512F.IsSupported || !Avx512BW.IsSupported)
        {
            return "the processor has no AVX512F and AVX512BW (or .NET does not use them)";
        }

        if (!present())
        {
            return $"the processor has no {extension}";
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

    /// <summary>
    /// Copies <paramref name="code"/> into a new read-only executable page; a failure says to turn
    /// off <paramref name="option"/> (the variable that chose these kernels).
    /// </summary>
    public static IntPtr MapCode(ReadOnlySpan<byte> code, string extension, string option)
    {
        try
        {
            return AmxRuntime.MapCode(code);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"Mapping an {extension} kernel into executable memory failed; " +
                $"set {option}=0 where executable pages are not allowed.", e);
        }
    }
}
