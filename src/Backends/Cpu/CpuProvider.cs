using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Accel.Backends.Cpu;

/// <summary>Which SIMD code path the CPU backend uses.</summary>
public enum CpuSimd
{
    /// <summary>The widest path this processor runs: AVX-512 kernels when present, else the portable path.</summary>
    Auto,
    /// <summary>The portable path (<see cref="System.Numerics.Vector{T}"/>), correct on every processor.</summary>
    Portable,
}

/// <summary>Options of the CPU backend.</summary>
/// <param name="Threads">Worker threads, the caller included (default: <see cref="Environment.ProcessorCount"/>).</param>
/// <param name="Simd">Which kernel family to run.</param>
/// <param name="Fuse">
/// Run a routed expert's gate and up products and its SwiGLU (with the routing weight) as one pass
/// over the weights, without writing the gate and up intermediates (on by default; off runs every
/// node as it stands, which the tests use to compare both).
/// </param>
/// <param name="Amx">
/// Run bf16 and FP8 expert products with many rows on Intel AMX tiles where the processor and
/// operating system allow it (split-bf16 operands with fp32 accumulation, accurate to fp32
/// rounding; on by default; off keeps every product on the AVX-512 kernels). The environment
/// variable <c>ACCEL_CPU_AMX=0</c> turns it off as well.
/// </param>
/// <param name="AmxMinRows">
/// Rows an expert's segment needs before its product runs on AMX tiles (default 64: below that the
/// weight expansion each tile needs costs more than the tiles save on the machines measured;
/// <c>ACCEL_CPU_AMX_ROWS</c> overrides it).
/// </param>
/// <param name="AmxFp32">
/// Also run fp32-weight products on AMX tiles (off by default: exact to fp32 rounding, but every
/// tile must first split its fp32 weights into three bf16 parts, and on the machines measured that
/// costs more than the AVX-512 fp32 kernel takes).
/// </param>
/// <param name="PanelPrefetchBytes">
/// How far ahead (bytes) a panel tile's first row block prefetches the weights it streams (default
/// 2048, worth about 4 ms of 25-30 at 128 tokens on the machine measured; 0 turns it off;
/// <c>ACCEL_CPU_PANEL_PREFETCH</c> overrides it).
/// </param>
public sealed record CpuBackendOptions(int Threads = 0, CpuSimd Simd = CpuSimd.Auto, bool Fuse = true, bool Amx = true,
    int AmxMinRows = 64, bool AmxFp32 = false, int PanelPrefetchBytes = 2048)
{
    /// <summary>The thread count actually used (at least 1).</summary>
    public int EffectiveThreads => Threads > 0 ? Threads : Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// These options with the process environment applied: <c>ACCEL_CPU_AMX=0</c> turns the tiles
    /// off, <c>ACCEL_CPU_AMX_ROWS=N</c> (N &gt; 0) sets <see cref="AmxMinRows"/>, <c>ACCEL_CPU_AMX_FP32=1</c>
    /// turns <see cref="AmxFp32"/> on, <c>ACCEL_CPU_PANEL_PREFETCH=N</c> (N &gt;= 0) sets
    /// <see cref="PanelPrefetchBytes"/>. A backend runs with the result.
    /// </summary>
    public CpuBackendOptions WithEnvironment() => this with
    {
        Amx = Amx && Environment.GetEnvironmentVariable("ACCEL_CPU_AMX") != "0",
        AmxMinRows = int.TryParse(Environment.GetEnvironmentVariable("ACCEL_CPU_AMX_ROWS"), out int rows) && rows > 0
            ? rows
            : Math.Max(1, AmxMinRows),
        AmxFp32 = AmxFp32 || Environment.GetEnvironmentVariable("ACCEL_CPU_AMX_FP32") == "1",
        PanelPrefetchBytes = int.TryParse(Environment.GetEnvironmentVariable("ACCEL_CPU_PANEL_PREFETCH"), out int ahead) && ahead >= 0
            ? ahead
            : Math.Max(0, PanelPrefetchBytes),
    };

    /// <summary>Whether a backend with these options runs the AVX-512 kernels on this processor.</summary>
    internal bool UsesAvx512 => Simd != CpuSimd.Portable && CpuProvider.HasAvx512;

    /// <summary>Whether a backend with these options, as they stand, runs products on AMX tiles here.</summary>
    internal bool UsesAmx => UsesAvx512 && Amx && Accel.Backends.Cpu.Amx.AmxRuntime.IsAvailable;
}

/// <summary>The provider of the <c>cpu</c> device: this machine's processor, always present.</summary>
/// <param name="options">Options for the backends it opens (null for defaults).</param>
public sealed class CpuProvider(CpuBackendOptions? options = null) : IBackendProvider
{
    /// <summary>The device string of the CPU backend.</summary>
    public const string DeviceId = "cpu";

    private static readonly Lazy<DeviceDescriptor> Descriptor = new(Describe);

    /// <summary>The options backends are opened with.</summary>
    public CpuBackendOptions Options { get; } = options ?? new CpuBackendOptions();

    /// <inheritdoc/>
    public string Name => DeviceId;

    /// <summary>The single device.</summary>
    public static DeviceDescriptor Device => Descriptor.Value;

    /// <inheritdoc/>
    public IReadOnlyList<DeviceDescriptor> EnumerateDevices() => [Device];

    /// <inheritdoc/>
    public IBackend Create(DeviceDescriptor device) => new CpuBackend(Options);

    /// <summary>The SIMD features the kernels can use here, e.g. <c>avx512f avx512bw fma</c>.</summary>
    public static string Features()
    {
        var f = new List<string>();
        if (Avx512F.IsSupported) { f.Add("avx512f"); }
        if (Avx512BW.IsSupported) { f.Add("avx512bw"); }
        if (Avx2.IsSupported) { f.Add("avx2"); }
        if (Fma.IsSupported) { f.Add("fma"); }
        if (f.Count == 0) { f.Add($"vector{System.Numerics.Vector<float>.Count * 32}"); }
        return string.Join(' ', f);
    }

    /// <summary>True when the AVX-512 kernels run on this processor.</summary>
    public static bool HasAvx512 => Avx512F.IsSupported && Avx512BW.IsSupported && Vector512.IsHardwareAccelerated;

    private static DeviceDescriptor Describe()
    {
        string name = ProcessorName();
        return new DeviceDescriptor(DeviceId, DeviceId, name, DeviceKind.Cpu, null, DeviceStatus.Present,
            $"{Environment.ProcessorCount} logical processors; SIMD: {Features()}; kernels: {Kernels()}");
    }

    /// <summary>The kernel families a default backend runs here (environment applied), with why AMX tiles are not among them.</summary>
    private static string Kernels()
    {
        var o = new CpuBackendOptions().WithEnvironment();
        if (!o.UsesAvx512)
        {
            return "portable";
        }

        if (o.UsesAmx)
        {
            return $"avx512, amx tiles for {(o.AmxFp32 ? "fp32/" : "")}bf16/FP8 prefill";
        }

        return o.Amx
            ? $"avx512 (no amx tiles: {Amx.AmxRuntime.WhyUnavailable})"
            : "avx512 (amx tiles turned off)";
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
