using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Accel.Backends.Cpu.Amx;

/// <summary>
/// Whether this process may run Intel AMX tile instructions, and executable memory for the
/// kernels that use them. AMX needs three things: the processor (CPUID leaf 7: AMX-TILE and
/// AMX-BF16), a 64-bit Linux kernel that supports the tile state, and this process's permission
/// to use it, which Linux grants on request (<c>arch_prctl(ARCH_REQ_XCOMP_PERM)</c>). .NET has no
/// AMX intrinsics, so the kernels are machine code written by <see cref="AmxEmitter"/>.
/// </summary>
internal static unsafe partial class AmxRuntime
{
    private const long SysArchPrctl = 158;
    private const long ArchReqXcompPerm = 0x1023;
    private const int XfeatureTileData = 18;

    /// <summary>XCR0 bits of the tile configuration (17) and tile data (18).</summary>
    private const ulong TileStateBits = 3UL << 17;

    private static readonly Lazy<string?> Unavailable = new(Probe);

    /// <summary>True when AMX kernels can run in this process (permission requested on first use).</summary>
    public static bool IsAvailable => Unavailable.Value is null;

    /// <summary>Why AMX is not used here, or null when it is available.</summary>
    public static string? WhyUnavailable => Unavailable.Value;

    private static string? Probe()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return "AMX kernels need Linux on x86-64";
        }

        if (!X86Base.IsSupported)
        {
            return "no CPUID";
        }

        var (_, _, _, edx) = X86Base.CpuId(7, 0);
        if ((edx & (1 << 24)) == 0 || (edx & (1 << 22)) == 0)
        {
            return "the processor has no AMX-TILE/AMX-BF16";
        }

        try
        {
            if ((X86Base.CpuId(1, 0).Ecx & (1 << 27)) == 0 || (ReadXcr0() & TileStateBits) != TileStateBits)
            {
                return "the operating system has not enabled the AMX tile state (XCR0)";
            }

            if (Syscall(SysArchPrctl, ArchReqXcompPerm, XfeatureTileData) != 0)
            {
                return $"the operating system refused the AMX tile state (arch_prctl errno {Marshal.GetLastPInvokeError()})";
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return $"the AMX set-up failed: {e.Message}";
        }

        return null;
    }

    /// <summary>XCR0, the state components the operating system has enabled (xgetbv has no .NET intrinsic).</summary>
    internal static ulong ReadXcr0()
    {
        // xor ecx, ecx; xgetbv; shl rdx, 32; or rax, rdx; ret
        ReadOnlySpan<byte> code = [0x31, 0xC9, 0x0F, 0x01, 0xD0, 0x48, 0xC1, 0xE2, 0x20, 0x48, 0x09, 0xD0, 0xC3];
        return ((delegate* unmanaged<ulong>)MapCode(code))();
    }

    /// <summary>Copies <paramref name="code"/> into a new page and makes it executable (read-only).</summary>
    public static IntPtr MapCode(ReadOnlySpan<byte> code)
    {
        const int ProtRead = 1, ProtWrite = 2, ProtExec = 4, MapPrivate = 2, MapAnonymous = 0x20;
        nuint size = (nuint)((code.Length + 4095) & ~4095);
        IntPtr page = Mmap(IntPtr.Zero, size, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
        if (page == new IntPtr(-1))
        {
            throw new InvalidOperationException($"mmap of {size} bytes for an AMX kernel failed (errno {Marshal.GetLastPInvokeError()}).");
        }

        code.CopyTo(new Span<byte>((void*)page, code.Length));
        if (Mprotect(page, size, ProtRead | ProtExec) != 0)
        {
            throw new InvalidOperationException($"mprotect of an AMX kernel failed (errno {Marshal.GetLastPInvokeError()}); " +
                "set CpuBackendOptions.Amx = false where executable pages are not allowed.");
        }

        return page;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a, long b);

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial IntPtr Mmap(IntPtr address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(IntPtr address, nuint length, int protection);
}
