using System.Collections.Concurrent;
using Accel.Backends.Cpu.Kernels;
using Accel.Types;

namespace Accel.Backends.Cpu.Bf16;

/// <summary>
/// The AVX512-BF16 dot-product kernel: 1-4 activation rows against 4 bf16 weight rows, fp32
/// results in <c>tile[r * 4 + n]</c> (as <see cref="DotKernel"/>). Each activation row is given as
/// two bf16 arrays (<see cref="Bf16Split.SplitRow"/>: x ≈ hi + lo, about 16 significant bits),
/// and per 32 inputs the kernel adds <c>vdpbf16ps(hi, w)</c> and <c>vdpbf16ps(lo, w)</c> into fp32
/// accumulators. bf16 products are exact in fp32, so the error is the split's (at most 2^-16 of
/// each |x|) plus fp32 accumulation rounding; <c>vdpbf16ps</c> treats denormal inputs as zero and
/// flushes denormal results, which only matters for values below 2^-126.
/// </summary>
internal sealed unsafe class Bf16Kernel
{
    /// <summary>The most activation rows per call.</summary>
    public const int MaxRows = 4;

    /// <summary>Inputs per kernel block; the remainder of k is summed in C#.</summary>
    public const int BlockK = 32;

    private static readonly ConcurrentDictionary<(int Rows, int Prefetch), Bf16Kernel> Cache = new();

    // No GC transition: the code runs for microseconds, never blocks and never calls back.
    private readonly delegate* unmanaged[SuppressGCTransition]<Bf16Args*, void> _entry;

    private Bf16Kernel(int rows, int prefetch)
    {
        Rows = rows;
        Prefetch = prefetch;
        IntPtr code = Bf16Runtime.MapCode(Bf16Code.Emit(rows, prefetch));
        _entry = (delegate* unmanaged[SuppressGCTransition]<Bf16Args*, void>)code;
    }

    /// <summary>Activation rows per call (1-4).</summary>
    public int Rows { get; }

    /// <summary>Bytes ahead at which the weight rows are prefetched (0: none).</summary>
    public int Prefetch { get; }

    /// <summary>
    /// The kernel for <paramref name="rows"/> (1-4) activation rows, prefetching the weight rows
    /// <paramref name="prefetch"/> bytes ahead (0: none; a multiple of 64).
    /// </summary>
    /// <exception cref="InvalidOperationException">The kernels are unsupported or disabled here.</exception>
    public static Bf16Kernel Get(int rows, int prefetch = 0)
    {
        Bf16Runtime.Require();
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, MaxRows);
        if (prefetch < 0 || prefetch % 64 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(prefetch), prefetch,
                "the prefetch distance is a non-negative multiple of 64 bytes");
        }

        return Cache.GetOrAdd((rows, prefetch), key => new Bf16Kernel(key.Rows, key.Prefetch));
    }

    /// <summary>Runs the kernel on a filled argument block (<see cref="Bf16Args.Blocks"/> at least 1).</summary>
    /// <exception cref="InvalidOperationException">The kernels were disabled after this one was made.</exception>
    public void Run(Bf16Args* args)
    {
        RequireEnabled();
        if (args->Blocks < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(args), args->Blocks,
                "a kernel call needs at least one block of 32 inputs");
        }

        _entry(args);
    }

    /// <summary>
    /// One activation row (decode) with the cached kernel: tile[n] = sum_k (hi[k] + lo[k]) * W[n, k]
    /// for n &lt; 4.
    /// </summary>
    /// <exception cref="InvalidOperationException">The kernels are unsupported or disabled here.</exception>
    public static void Dot4(float* tile, ushort* xHi, ushort* xLo, WeightRows4* w, int k, int prefetch = 0) =>
        Get(1, prefetch).Dot(xHi, xLo, 0, w, k, tile);

    /// <summary>
    /// tile[r * 4 + n] = sum_k (hi[r, k] + lo[r, k]) * W[n, k] for r &lt; <see cref="Rows"/>, n &lt; 4;
    /// row r of the activations starts <c>r * ldx</c> elements after <paramref name="xHi"/> and
    /// <paramref name="xLo"/>. Any k works: whole blocks of 32 run on the kernel, the rest in C#.
    /// Only <see cref="WeightRows4.R0"/>-<see cref="WeightRows4.R3"/> are read (bf16 has no scales).
    /// Hold the kernel from <see cref="Get"/> across calls: this skips the cache lookup.
    /// </summary>
    /// <exception cref="InvalidOperationException">The kernels were disabled after this one was made.</exception>
    public void Dot(ushort* xHi, ushort* xLo, nint ldx, WeightRows4* w, int k, float* tile)
    {
        RequireEnabled();
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        int rows = Rows, blocks = k / BlockK;
        if (blocks > 0)
        {
            var args = new Bf16Args { W0 = w->R0, W1 = w->R1, W2 = w->R2, W3 = w->R3, Blocks = blocks, Tile = tile };
            ushort** hi = &args.Hi0, lo = &args.Lo0;
            for (int r = 0; r < rows; r++)
            {
                hi[r] = xHi + r * ldx;
                lo[r] = xLo + r * ldx;
            }

            _entry(&args);
        }
        else
        {
            new Span<float>(tile, rows * 4).Clear();
        }

        if (blocks * BlockK < k)
        {
            Tail(rows, xHi, xLo, ldx, w, blocks * BlockK, k, tile);
        }
    }

    private static void RequireEnabled()
    {
        if (Bf16Runtime.Disabled)
        {
            Bf16Runtime.Require();
        }
    }

    private static void Tail(
        int rows, ushort* xHi, ushort* xLo, nint ldx, WeightRows4* w, int from, int to, float* tile)
    {
        ushort** wr = stackalloc ushort*[4] { (ushort*)w->R0, (ushort*)w->R1, (ushort*)w->R2, (ushort*)w->R3 };
        for (int r = 0; r < rows; r++)
        {
            for (int n = 0; n < 4; n++)
            {
                float sum = 0;
                for (int i = from; i < to; i++)
                {
                    float x = NumericFormats.BF16ToF32(xHi[r * ldx + i]) + NumericFormats.BF16ToF32(xLo[r * ldx + i]);
                    sum += x * NumericFormats.BF16ToF32(wr[n][i]);
                }

                tile[r * 4 + n] += sum;
            }
        }
    }
}
