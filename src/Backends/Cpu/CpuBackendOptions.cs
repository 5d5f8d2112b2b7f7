using Accel.Hosting;
using Accel.Selection;

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
/// rounding; on by default; off keeps every product on the AVX-512 kernels; <c>ACCEL_CPU_AMX</c>).
/// </param>
/// <param name="AmxMinRows">
/// Rows an expert's segment needs before its product runs on AMX tiles (default 64: below that the
/// weight expansion each tile needs costs more than the tiles save on the machines measured;
/// <c>ACCEL_CPU_AMX_ROWS</c>).
/// </param>
/// <param name="AmxFp32">
/// Also run fp32-weight products on AMX tiles (off by default: exact to fp32 rounding, but every
/// tile must first split its fp32 weights into three bf16 parts, and on the machines measured that
/// costs more than the AVX-512 fp32 kernel takes; <c>ACCEL_CPU_AMX_FP32</c>).
/// </param>
/// <param name="PanelPrefetchBytes">
/// How far ahead (bytes) a panel tile's first row block prefetches the weights it streams (default
/// 2048, worth about 4 ms of 25-30 at 128 tokens on the machine measured; 0 turns it off;
/// <c>ACCEL_CPU_PANEL_PREFETCH</c>).
/// </param>
/// <param name="StreamRowsAbove">
/// Rows of a product's input above which a row-major weight tile keeps a row block in L1 and streams
/// the weight rows from L2 (default 24; <c>ACCEL_CPU_STREAM_ROWS</c>).
/// </param>
/// <param name="PrefetchBlocks">
/// Weight blocks ahead that the row-major decode tiles prefetch (default 2, 0 turns it off;
/// <c>ACCEL_CPU_PREFETCH_BLOCKS</c>).
/// </param>
/// <param name="Vnni">
/// Whether FP4 decode (segments of one or two rows) runs on AVX-VNNI integer dot products with
/// activations held as three int8 terms per 32-column block (22 bits against the block's largest value),
/// where the processor has AVX-VNNI (default true; <c>ACCEL_CPU_VNNI</c>). Off, FP4 decode stays on
/// fp32 FMA, exact up to fp32 rounding.
/// </param>
/// <param name="Vnni512">
/// Whether that integer FP4 decode runs 512 bits wide on AVX512-VNNI (emitted code, same arithmetic)
/// where the processor has it and rows are a multiple of 128 columns (default true; needs
/// <paramref name="Vnni"/>; <c>ACCEL_CPU_VNNI512</c>). Off, it runs on 256-bit AVX-VNNI.
/// </param>
/// <param name="Bf16Dot">
/// Whether bf16 decode (segments of up to four rows) runs on the AVX512-BF16 kernel (<c>vdpbf16ps</c>,
/// activations split into two bf16 terms, about 16 bits) where the processor has it (default false:
/// measured no faster than the fp32 FMA kernel once weights stream from memory, see
/// docs/performance.md; <c>ACCEL_CPU_BF16</c>).
/// </param>
/// <param name="Fp4PanelRows">
/// Rows an expert's segment needs before its FP4 products expand each tile's weights into fp32 panels
/// once and run the panel kernel, instead of decoding them again for every block of six rows
/// (default 8; 0 turns the expansion off; <c>ACCEL_CPU_FP4_PANEL_ROWS</c>).
/// </param>
/// <param name="IdleNapMilliseconds">
/// How long idle workers keep napping (50 us sleeps) after their 0.5 ms of spinning before they block
/// in the kernel (default 20; 0 blocks right after spinning; <c>ACCEL_CPU_NAP_MS</c>). A napping
/// worker sees the next job without being woken, which on a virtual machine whose idle processors
/// halt saves the caller a wake-up system call of tens of microseconds per run; while they last the
/// naps cost each idle worker part of a core (about a fifth on the 2-vCPU machine measured in
/// docs/performance.md).
/// </param>
/// <param name="Fp4ActivationBits">
/// Bits the integer FP4 decode kernels keep of each activation against its 32-column block's largest
/// value: 22 (the default, three int8 terms: agrees with the fp32 reference to about 1e-6 of a
/// product's magnitude), 16 (two terms, error at most 1/256 of the block's step, well inside what
/// moe-spec section 5 allows for FP4 products) or 8 (one term, ggml's Q8_0 rounding of activations);
/// fewer bits take fewer dot products per weight (<c>ACCEL_CPU_FP4_ACTIVATION_BITS</c>). Products that
/// run on fp32 FMA are exact whatever this says.
/// </param>
/// <param name="Fp4Quads">
/// Whether FP4 weights that the 512-bit VNNI kernel decodes are rewritten, with their scales, into the
/// four-row interleaved layout the first time a product uses them, so that the kernel reads one
/// stream per group of four rows instead of four (default true; <c>ACCEL_CPU_FP4_QUADS</c>). Segments
/// of three rows or more then run that kernel two rows at a time, and from <paramref name="Fp4PanelRows"/>
/// rows on expanded fp32 panels, the only other reader of the layout: the layout is used only while
/// that option is above 0, and a large value leaves long segments (prefill) to many passes in pairs
/// of rows. The layout never shows: downloads return the stored bytes.
/// </param>
/// <param name="SplitPanels">
/// Whether a decode tile (one or two rows of X) of a single weight in panels reads two panels half
/// the weight's outputs apart instead of two adjacent ones, so that each thread streams two regions of
/// memory at once, as a gate/up pair already does (default true; <c>ACCEL_CPU_SPLIT_PANELS</c>).
/// Measured on the benchmark layer at 1 token, alternating in one process: the routed down
/// projection 6-10% faster in f32, 18-19% in bf16, 23-25% in fp8 (docs/performance.md).
/// </param>
/// <param name="Fp4TwoGroups">
/// Whether one-row decode of FP4 weights in the quad layout decodes two groups of four rows side by
/// side in one kernel loop instead of one after the other: a gate group beside its up group, and for
/// a single weight (the down projection) group j beside group j + G/2 of G. The activation chunk is
/// loaded once for eight rows, and two regions stream together (default true;
/// <c>ACCEL_CPU_FP4_TWO_GROUPS</c>). The sums are bit for bit the same. Measured at 1 token, cold,
/// alternating (docs/performance.md): V4-Flash gate/up 17-24% faster and down 6-8%, the benchmark
/// layer's gate/up 3-13% and down 7-14%. Neighbouring groups side by side made that down slower.
/// </param>
/// <param name="AvoidCaller">
/// Whether the workers are kept off the processor the calling thread runs on (Linux, when the process
/// may use more processors than there are workers): before each op the pool asks where the caller
/// is and, when that changed, sets the workers' affinity to the other processors (default true;
/// <c>ACCEL_CPU_AVOID_CALLER</c>). The caller takes part in every op, so a worker woken onto its
/// processor waits for the whole op. Measured on the 2-vCPU machine of docs/performance.md
/// (benchmark layer, bf16, 1 token, after idle spells): without it, the worker took no tile at all in
/// 12 of 30 runs, which took 1.7-2.9 ms against 1.05-1.7 for the others; the median went from
/// 1.61 to 1.09-1.10 ms with it.
/// </param>
/// <remarks>
/// At the composition root (<c>accel.AddCpu()</c>) the options come from, lowest precedence first, these
/// defaults, the configuration section <c>Accel:Backends:Cpu</c>, the environment variables named above
/// (<see cref="WithEnvironment"/>), then changes made in code. A backend constructed directly runs with
/// exactly the options it is given.
/// </remarks>
public sealed record CpuBackendOptions(int Threads = 0, CpuSimd Simd = CpuSimd.Auto, bool Fuse = true, bool Amx = true,
    int AmxMinRows = 64, bool AmxFp32 = false, int PanelPrefetchBytes = 2048, int StreamRowsAbove = 24, int PrefetchBlocks = 2,
    bool Vnni = true, bool Bf16Dot = false, bool Vnni512 = true, int Fp4PanelRows = 8, int IdleNapMilliseconds = 20,
    int Fp4ActivationBits = 22, bool Fp4Quads = true, bool SplitPanels = true, bool Fp4TwoGroups = true,
    bool AvoidCaller = true)
{
    /// <summary>The defaults.</summary>
    public CpuBackendOptions() : this(Threads: 0) { }

    /// <summary>The configuration subsection and the name used in messages (<c>Accel:Backends:Cpu</c>).</summary>
    public const string SectionName = "Cpu";

    /// <summary>The thread count actually used (at least 1).</summary>
    public int EffectiveThreads => Threads > 0 ? Threads : Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// These options with the environment variables of <paramref name="env"/> applied:
    /// <c>ACCEL_CPU_AMX</c> (0/1) sets <see cref="Amx"/>, <c>ACCEL_CPU_AMX_ROWS</c> (N &gt; 0)
    /// <see cref="AmxMinRows"/>, <c>ACCEL_CPU_AMX_FP32</c> (0/1) <see cref="AmxFp32"/>,
    /// <c>ACCEL_CPU_PANEL_PREFETCH</c> (N &gt;= 0) <see cref="PanelPrefetchBytes"/>,
    /// <c>ACCEL_CPU_STREAM_ROWS</c> (N &gt;= 0) <see cref="StreamRowsAbove"/> and
    /// <c>ACCEL_CPU_PREFETCH_BLOCKS</c> (N &gt;= 0) <see cref="PrefetchBlocks"/> and <c>ACCEL_CPU_VNNI</c> (0/1)
    /// <see cref="Vnni"/>, <c>ACCEL_CPU_VNNI512</c> (0/1) <see cref="Vnni512"/>, <c>ACCEL_CPU_BF16</c> (0/1) <see cref="Bf16Dot"/>
    /// <c>ACCEL_CPU_FP4_PANEL_ROWS</c> (N &gt;= 0) <see cref="Fp4PanelRows"/>, <c>ACCEL_CPU_NAP_MS</c> (N &gt;= 0)
    /// <see cref="IdleNapMilliseconds"/>, <c>ACCEL_CPU_FP4_ACTIVATION_BITS</c> (22, 16 or 8)
    /// <see cref="Fp4ActivationBits"/>, <c>ACCEL_CPU_FP4_QUADS</c> (0/1) <see cref="Fp4Quads"/>,
    /// <c>ACCEL_CPU_SPLIT_PANELS</c> (0/1) <see cref="SplitPanels"/>, <c>ACCEL_CPU_FP4_TWO_GROUPS</c> (0/1)
    /// <see cref="Fp4TwoGroups"/> and <c>ACCEL_CPU_AVOID_CALLER</c> (0/1) <see cref="AvoidCaller"/>. An unset variable keeps the value.
    /// </summary>
    /// <param name="env">Where the variables are read.</param>
    /// <returns>The options with the variables applied.</returns>
    /// <exception cref="Errors.ConfigException">A variable holds something else.</exception>
    public CpuBackendOptions WithEnvironment(IAccelEnvironment env) => this with
    {
        Amx = BackendOptionsBinding.Flag(env, "ACCEL_CPU_AMX") ?? Amx,
        AmxMinRows = BackendOptionsBinding.Integer(env, "ACCEL_CPU_AMX_ROWS", 1) ?? AmxMinRows,
        AmxFp32 = BackendOptionsBinding.Flag(env, "ACCEL_CPU_AMX_FP32") ?? AmxFp32,
        PanelPrefetchBytes = BackendOptionsBinding.Integer(env, "ACCEL_CPU_PANEL_PREFETCH", 0) ?? PanelPrefetchBytes,
        StreamRowsAbove = BackendOptionsBinding.Integer(env, "ACCEL_CPU_STREAM_ROWS", 0) ?? StreamRowsAbove,
        PrefetchBlocks = BackendOptionsBinding.Integer(env, "ACCEL_CPU_PREFETCH_BLOCKS", 0) ?? PrefetchBlocks,
        Vnni = BackendOptionsBinding.Flag(env, "ACCEL_CPU_VNNI") ?? Vnni,
        Bf16Dot = BackendOptionsBinding.Flag(env, "ACCEL_CPU_BF16") ?? Bf16Dot,
        Vnni512 = BackendOptionsBinding.Flag(env, "ACCEL_CPU_VNNI512") ?? Vnni512,
        Fp4PanelRows = BackendOptionsBinding.Integer(env, "ACCEL_CPU_FP4_PANEL_ROWS", 0) ?? Fp4PanelRows,
        IdleNapMilliseconds = BackendOptionsBinding.Integer(env, "ACCEL_CPU_NAP_MS", 0) ?? IdleNapMilliseconds,
        Fp4ActivationBits = ActivationBits(BackendOptionsBinding.Integer(env, "ACCEL_CPU_FP4_ACTIVATION_BITS", 1), "ACCEL_CPU_FP4_ACTIVATION_BITS")
            ?? Fp4ActivationBits,
        Fp4Quads = BackendOptionsBinding.Flag(env, "ACCEL_CPU_FP4_QUADS") ?? Fp4Quads,
        SplitPanels = BackendOptionsBinding.Flag(env, "ACCEL_CPU_SPLIT_PANELS") ?? SplitPanels,
        Fp4TwoGroups = BackendOptionsBinding.Flag(env, "ACCEL_CPU_FP4_TWO_GROUPS") ?? Fp4TwoGroups,
        AvoidCaller = BackendOptionsBinding.Flag(env, "ACCEL_CPU_AVOID_CALLER") ?? AvoidCaller,
    };

    /// <summary><paramref name="bits"/> (or null) if the FP4 decode kernels can keep that many activation bits, else the refusal.</summary>
    private static int? ActivationBits(int? bits, string source) => bits is null || Kernels.Fp4VnniKernel.TermsFor(bits.Value) is not null ? bits
        : throw new Errors.ConfigException(ActivationBitsRefusal(source, bits.Value));

    private static string ActivationBitsRefusal(string source, int bits) =>
        $"{source} is '{bits}', but FP4 decode keeps 22, 16 or 8 bits of each activation: "
        + "set 22 (the default, agrees with the fp32 reference), 16 (two int8 terms, faster) or 8 (one term, as ggml's Q8_0 activations).";

    /// <summary>Whether a backend with these options runs bf16 decode on the AVX512-BF16 kernel here.</summary>
    internal bool UsesBf16Dot => UsesAvx512 && Bf16Dot && Bf16.Bf16Runtime.IsAvailable;

    /// <summary>Whether a backend with these options runs FP4 decode on the 256-bit AVX-VNNI kernel here (where the 512-bit one does not fit).</summary>
    internal bool UsesVnni => UsesAvx512 && Vnni && Kernels.Fp4VnniKernel.IsSupported;

    /// <summary>Int8 terms per activation in the FP4 decode kernels (from <see cref="Fp4ActivationBits"/>, which must be 22, 16 or 8).</summary>
    /// <exception cref="Errors.ConfigException"><see cref="Fp4ActivationBits"/> is another value.</exception>
    internal int Fp4Terms => Kernels.Fp4VnniKernel.TermsFor(Fp4ActivationBits)
        ?? throw new Errors.ConfigException(ActivationBitsRefusal($"{nameof(Fp4ActivationBits)} (Accel:Backends:Cpu)", Fp4ActivationBits));

    /// <summary>Whether a backend with these options runs FP4 decode on the 512-bit AVX512-VNNI kernel here.</summary>
    internal bool UsesVnni512 => UsesAvx512 && Vnni && Vnni512 && Accel.Backends.Cpu.Vnni.Fp4Vnni512Kernel.IsAvailable;

    /// <summary>Whether a backend with these options rewrites the FP4 weights its 512-bit VNNI kernel decodes into the quad layout.</summary>
    internal bool UsesFp4Quads => UsesVnni512 && Fp4Quads && Fp4PanelRows > 0;

    /// <summary>Whether a backend with these options runs the AVX-512 kernels on this processor.</summary>
    internal bool UsesAvx512 => Simd != CpuSimd.Portable && CpuProvider.HasAvx512;

    /// <summary>Whether a backend with these options, as they stand, runs products on AMX tiles here.</summary>
    internal bool UsesAmx => UsesAvx512 && Amx && Accel.Backends.Cpu.Amx.AmxRuntime.IsAvailable;
}

