using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Accel.Backends.Cpu;

/// <summary>The provider of the <c>cpu</c> device: this machine's processor, always present.</summary>
/// <param name="options">Options for the backends it opens (null for defaults).</param>
public sealed class CpuProvider(CpuBackendOptions? options = null) : IBackendProvider
{
    /// <summary>The device string of the CPU backend.</summary>
    public const string DeviceId = "cpu";

    private static readonly Lazy<string> Processor = new(ProcessorName);

    /// <summary>The options backends are opened with.</summary>
    public CpuBackendOptions Options { get; } = options ?? new CpuBackendOptions();

    /// <inheritdoc/>
    public string Name => DeviceId;

    /// <summary>The single device, described for the default options.</summary>
    public static DeviceDescriptor Device => Describe(new CpuBackendOptions());

    /// <inheritdoc/>
    public IReadOnlyList<DeviceDescriptor> EnumerateDevices() => [Describe(Options)];

    /// <inheritdoc/>
    public bool Claims(string name) => name == DeviceId;

    /// <inheritdoc/>
    public IBackend Create(DeviceDescriptor device) => new CpuBackend(Options);

    /// <summary>The descriptor of the device as a backend with <paramref name="options"/> runs it.</summary>
    public static DeviceDescriptor Describe(CpuBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new DeviceDescriptor(DeviceId, DeviceId, Processor.Value, DeviceKind.Cpu, null, DeviceStatus.Present,
            $"{Environment.ProcessorCount} logical processors; SIMD: {Features()}; kernels: {Kernels(options)}; pool: {Pool(options)}", AutoRank.NativeCpu);
    }

    /// <summary>The thread pool a backend with <paramref name="o"/> runs, and where its workers may run.</summary>
    private static string Pool(CpuBackendOptions o)
    {
        int threads = o.EffectiveThreads;
        if (threads == 1)
        {
            return "1 thread (the caller)";
        }

        string placement = !o.AvoidCaller ? "workers placed by the kernel (AvoidCaller off)"
            : CallerPlacement.Create(threads - 1) is not null ? "workers kept off the caller's processor"
            : "workers placed by the kernel (no affinity calls here, or no more processors than workers)";
        return $"{threads} threads, {placement}";
    }

    /// <summary>The SIMD features the kernels can use here, e.g. <c>avx512f avx512bw fma</c>.</summary>
    public static string Features()
    {
        var f = new List<string>();
        if (Avx512F.IsSupported) { f.Add("avx512f"); }
        if (Avx512BW.IsSupported) { f.Add("avx512bw"); }
        if (Avx512Vbmi.IsSupported) { f.Add("avx512vbmi"); }
        if (CpuIdBit(7, 0, ecx: 11)) { f.Add("avx512_vnni"); }
        if (CpuIdBit(7, 1, eax: 5)) { f.Add("avx512_bf16"); }
        if (AvxVnni.IsSupported) { f.Add("avx_vnni"); }
        if (CpuIdBit(7, 0, edx: 22)) { f.Add("amx_bf16"); }
        if (Avx2.IsSupported) { f.Add("avx2"); }
        if (Fma.IsSupported) { f.Add("fma"); }
        if (f.Count == 0) { f.Add($"vector{System.Numerics.Vector<float>.Count * 32}"); }
        return string.Join(' ', f);
    }

    /// <summary>Whether CPUID leaf <paramref name="leaf"/>, sub-leaf <paramref name="sub"/> sets the given bit (x86 only).</summary>
    private static bool CpuIdBit(int leaf, int sub, int eax = -1, int ecx = -1, int edx = -1)
    {
        if (!X86Base.IsSupported || X86Base.CpuId(0, 0).Eax < leaf)
        {
            return false;
        }

        var (a, _, c, d) = X86Base.CpuId(leaf, sub);
        return (eax >= 0 && (a >> eax & 1) != 0) || (ecx >= 0 && (c >> ecx & 1) != 0) || (edx >= 0 && (d >> edx & 1) != 0);
    }

    /// <summary>True when the AVX-512 kernels run on this processor.</summary>
    public static bool HasAvx512 => Avx512F.IsSupported && Avx512BW.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>The kernel families a backend with <paramref name="o"/> runs here, with why AMX tiles are not among them.</summary>
    private static string Kernels(CpuBackendOptions o)
    {
        if (!o.UsesAvx512)
        {
            return "portable";
        }

        string bits = $" ({o.Fp4ActivationBits}-bit activations)";
        string decode = (o.UsesVnni512 ? "; FP4 decode on avx512-vnni" + (Vnni.Fp4Vnni512Kernel.CanPermute ? " with vpermb lookups" : "") + bits : o.UsesVnni ? "; FP4 decode on avx-vnni" + bits
                : o.Vnni ? "; FP4 decode on fp32 FMA (no avx-vnni)" : "; FP4 decode on fp32 FMA (vnni turned off)")
            + (o.UsesBf16Dot ? "; bf16 decode on avx512-bf16" : Bf16.Bf16Runtime.IsAvailable ? "; bf16 decode on fp32 FMA (avx512-bf16 present, off: ACCEL_CPU_BF16=1 turns it on)" : "");
        if (o.UsesAmx)
        {
            return $"avx512, amx tiles for {(o.AmxFp32 ? "fp32/" : "")}bf16/FP8 prefill{decode}";
        }

        return (o.Amx
            ? $"avx512 (no amx tiles: {Amx.AmxRuntime.WhyUnavailable})"
            : "avx512 (amx tiles turned off)") + decode;
    }

    private static string ProcessorName()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
            {
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                {
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int i and >= 0)
                    {
                        return line[(i + 1)..].Trim();
                    }
                }
            }
        }
        catch (IOException)
        {
            // Fall through to the generic name.
        }

        return $"{RuntimeInformation.ProcessArchitecture} processor";
    }
}
