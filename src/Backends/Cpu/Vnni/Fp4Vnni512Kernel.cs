using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Accel.Backends.Cpu.Emit;
using Accel.Backends.Cpu.Kernels;

namespace Accel.Backends.Cpu.Vnni;

/// <summary>
/// FP4 decode on 512-bit <c>vpdpbusd</c> (AVX512-VNNI, for which .NET has no intrinsics; the
/// code is written by <see cref="Fp4Vnni512Code"/>): one or two activation rows against four
/// weight rows, as <see cref="Fp4VnniKernel"/> computes it on 256-bit AVX-VNNI, with the
/// activations quantized in 128-column chunks (<see cref="Fp4VnniKernel.Quantize"/> with
/// <see cref="ChunkColumns"/>). Rows need a whole number of chunks (<see cref="Fits"/>) and scale
/// codes 1-254 (as the 256-bit kernel). The backend's <c>Vnni512</c> option turns it off
/// (the 256-bit kernel runs instead).
/// </summary>
internal sealed unsafe class Fp4Vnni512Kernel
{
    /// <summary>Columns per quantized chunk and per kernel step.</summary>
    public const int ChunkColumns = 128;

    private static readonly Lazy<string?> Unsupported = new(() => Avx512Support.WhyNot("AVX512_VNNI", Avx512Support.HasVnni));
    private static readonly ConcurrentDictionary<(int Rows, int Prefetch, int Terms, bool Quads, bool Permute, bool Dual), Fp4Vnni512Kernel> Cache = new();
    private static readonly Lazy<bool> PermuteSupported = new(() => Unsupported.Value is null && Avx512Support.HasVbmi());
    private static readonly Lazy<nint> SharedConstants = new(MakeConstants);

    // No GC transition: the code runs for microseconds, never blocks and never calls back.
    private readonly delegate* unmanaged[SuppressGCTransition]<Fp4Vnni512Args*, void> _entry;

    private Fp4Vnni512Kernel(int rows, int prefetch, int terms, bool quads, bool permute, bool dual)
    {
        Rows = rows;
        Terms = terms;
        Permutes = permute;
        Dual = dual;
        IntPtr code = Avx512Support.MapCode(Fp4Vnni512Code.Emit(rows, prefetch, terms, permute, quads, dual), "AVX512-VNNI", "ACCEL_CPU_VNNI512");
        _entry = (delegate* unmanaged[SuppressGCTransition]<Fp4Vnni512Args*, void>)code;
    }

    /// <summary>True when the processor and operating system run the kernel.</summary>
    public static bool IsAvailable => WhyUnavailable is null;

    /// <summary>Why the kernel is not used here, or null when it is available.</summary>
    public static string? WhyUnavailable => Unsupported.Value;

    /// <summary>Whether this processor has AVX512_VBMI, so the kernels look nibbles up with <c>vpermb</c>.</summary>
    public static bool CanPermute => PermuteSupported.Value;

    /// <summary>Whether this kernel looks nibbles up with <c>vpermb</c> (else <c>vpshufb</c> after masking).</summary>
    public bool Permutes { get; }

    /// <summary>Whether the kernel decodes its groups two at a time, side by side (its group counts must be even; see <see cref="Fp4Vnni512Code.Emit"/>).</summary>
    public bool Dual { get; }

    /// <summary>Activation rows per call (1 or 2).</summary>
    public int Rows { get; }

    /// <summary>Int8 terms per quantized activation (1-3), as <see cref="Fp4VnniKernel.Quantize"/> must write them.</summary>
    public int Terms { get; }

    /// <summary>Whether rows of <paramref name="k"/> columns fit (whole 128-column chunks).</summary>
    public static bool Fits(int k) => k > 0 && k % ChunkColumns == 0;

    /// <summary>
    /// The kernel for <paramref name="rows"/> (1 or 2) activation rows held as <paramref name="terms"/>
    /// (1-3) int8 terms, prefetching the weight rows <paramref name="prefetch"/> bytes ahead (0: none;
    /// rounded down to a multiple of 64), for row-major weights or with <paramref name="quads"/> for
    /// the four-row interleaved layout, with <c>vpermb</c> lookups where <paramref name="permute"/>
    /// says so (null: where <see cref="CanPermute"/>); with <paramref name="dual"/> (one row, quads) the
    /// groups go two at a time, side by side.
    /// </summary>
    /// <exception cref="InvalidOperationException">The kernel is unsupported here, or <paramref name="permute"/> asks for AVX512_VBMI on a processor without it.</exception>
    /// <exception cref="ArgumentException"><paramref name="dual"/> with two rows or without quads.</exception>
    public static Fp4Vnni512Kernel Get(int rows, nint prefetch, int terms = 3, bool quads = false, bool? permute = null, bool dual = false)
    {
        string? why = WhyUnavailable;
        if (why is not null)
        {
            throw new InvalidOperationException($"The AVX512-VNNI FP4 kernel cannot run here: {why}.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(prefetch);
        ArgumentOutOfRangeException.ThrowIfLessThan(terms, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(terms, 3);
        if (permute == true && !CanPermute)
        {
            throw new InvalidOperationException("The vpermb form of the AVX512-VNNI FP4 kernel needs AVX512_VBMI, which this processor lacks.");
        }

        int distance = (int)Math.Min(prefetch & ~63, 1 << 30);
        return Cache.GetOrAdd((rows, distance, terms, quads, permute ?? CanPermute, dual),
            key => new Fp4Vnni512Kernel(key.Rows, key.Prefetch, key.Terms, key.Quads, key.Permute, key.Dual));
    }

    /// <summary>
    /// tile[r * 4 + n] = row r of the activations (quantized, row 1 at <paramref name="q1"/>) against
    /// weight row n of <paramref name="w"/>, for r &lt; <see cref="Rows"/>; <paramref name="k"/> must <see cref="Fits"/>.
    /// </summary>
    public void Run(byte* q0, byte* q1, WeightRows4* w, int k, float* tile) => Run(q0, q1, w, k, tile, 1, 0, 0);

    /// <summary>
    /// <see cref="Run(byte*, byte*, WeightRows4*, int, float*)"/> for <paramref name="groups"/> groups of
    /// four weight rows: group g starts <c>g * weightStep</c> bytes after the rows of <paramref name="w"/>
    /// (its scales <c>g * scaleStep</c> after theirs) and writes tile[g * Rows * 4 + r * 4 + n].
    /// </summary>
    public void Run(byte* q0, byte* q1, WeightRows4* w, int k, float* tile, int groups, long weightStep, long scaleStep) =>
        Run(q0, q1, w, k, tile, groups, weightStep, scaleStep, weightStep, scaleStep);

    /// <summary>
    /// <see cref="Run(byte*, byte*, WeightRows4*, int, float*, int, long, long)"/> with groups that
    /// alternate between two places: after an even group (0, 2, ...) the pointers move on by
    /// <paramref name="weightStep"/> and <paramref name="scaleStep"/>, after an odd one by
    /// <paramref name="weightStep2"/> and <paramref name="scaleStep2"/> (e.g. gate group, up group, next gate group).
    /// </summary>
    public void Run(byte* q0, byte* q1, WeightRows4* w, int k, float* tile, int groups, long weightStep, long scaleStep,
        long weightStep2, long scaleStep2)
    {
        if (!Fits(k))
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"rows need a whole number of {ChunkColumns}-column chunks");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        if (Dual && groups % 2 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(groups), groups, "the two-group kernel takes an even number of groups");
        }

        var args = new Fp4Vnni512Args
        {
            W0 = w->R0, W1 = w->R1, W2 = w->R2, W3 = w->R3,
            S0 = w->S0, S1 = w->S1, S2 = w->S2, S3 = w->S3,
            Q0 = q0, Q1 = q1, Chunks = k / ChunkColumns, Tile = tile, Constants = (byte*)SharedConstants.Value,
            Groups = groups, WeightStep = weightStep, ScaleStep = scaleStep, WeightStep2 = weightStep2, ScaleStep2 = scaleStep2,
        };
        _entry(&args);
    }

    /// <summary>The code table (2 * e2m1 + 12, repeated every 16 bytes for either lookup), the nibble mask and the scale spread, 64 bytes each, never freed.</summary>
    private static nint MakeConstants()
    {
        byte* c = (byte*)NativeMemory.AlignedAlloc(192, 64);
        ReadOnlySpan<byte> table = [12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0];
        for (int i = 0; i < 64; i++)
        {
            c[i] = table[i % 16];
            c[64 + i] = 0x0F;

            // 128-bit lane L holds the four scale bytes; its dword lanes (block L) take byte L.
            c[128 + i] = i % 4 == 0 ? (byte)(i / 16) : (byte)0x80;
        }

        return (nint)c;
    }
}
