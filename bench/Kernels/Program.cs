using System.Diagnostics;
using System.Runtime.InteropServices;
using Accel.Backends.Cpu.Bf16;
using Accel.Backends.Cpu.Kernels;
using Accel.Backends.Cpu.Vnni;

namespace Accel.KernelBench;

/// <summary>
/// One-off measurement of the cpu backend's decode GEMV kernels: 4 weight rows of 2 KB each (K =
/// 1024 bf16, 2048 fp8 or 4096 FP4 weights) against one activation row (bf16 also four), timed over
/// one 8 KB group again and again (L1: the kernels' own speed), over a 12 MB set of weight rows
/// (hot: in L2/L3) and over 32 such sets in turn (cold: 384 MB, each set evicted before its next
/// turn). bf16: the AVX512-BF16 kernel (hi/lo split activations) against DotKernel (widen to fp32,
/// FMA). fp8: DotKernel's two-multiply decoder against the one-multiply one (activations times 2^90).
/// FP4: DotKernel's per-16-column decoder, Fp4Kernel (a 32-column block per step), Fp4VnniKernel
/// (256-bit AVX-VNNI) and Fp4Vnni512Kernel (512-bit AVX512-VNNI, emitted) with 22-, 16- and 8-bit activations.
/// The bytes are random (timing only; the check line compares the two bf16 kernels). Single thread;
/// figures are medians. Usage: accel-kernel-bench [prefetchBytes] (default 16384: two groups ahead);
/// <c>accel-kernel-bench streams [threads]</c> runs <see cref="Streams"/> instead.
/// </summary>
internal static unsafe class Program
{
    private const int K = 1024;
    private const int K8 = 2048;
    private const int K4 = 4096;
    private const long RowBytes = K * 2;
    private const long SetBytes = 12L << 20;
    private const int Sets = 32;
    private const int GroupsPerSet = (int)(SetBytes / RowBytes / 4);

    private const string Usage = "usage: accel-kernel-bench [prefetchBytes] (0 to 1048576, default 16384) | accel-kernel-bench streams [threads] (1 to 256, default 2)";

    private static int Main(string[] args)
    {
        bool streams = args.Length > 0 && args[0] == "streams";
        int max = streams ? 2 : 1;
        if (args.Any(a => a is "-h" or "--help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }

        if (args.Length > max)
        {
            Console.Error.WriteLine($"{args.Length} arguments, at most {max} expected.");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (streams)
        {
            return Number(args, 1, 2, 1, 256, "threads") is { } threads ? Streams.Run(threads) : 2;
        }

        if (!Bf16Runtime.IsAvailable)
        {
            Console.Error.WriteLine($"AVX512-BF16 kernels not available: {Bf16Runtime.WhyUnavailable}");
            return 1;
        }

        if (Number(args, 0, 16384, 0, 1 << 20, "prefetchBytes") is not { } prefetch)
        {
            return 2;
        }

        byte* pool = (byte*)NativeMemory.AlignedAlloc((nuint)(SetBytes * Sets), 64);
        float* x = (float*)NativeMemory.AlignedAlloc(K4 * 4, 64);
        ushort* hi = (ushort*)NativeMemory.AlignedAlloc(4 * K * 2, 64);
        ushort* lo = (ushort*)NativeMemory.AlignedAlloc(4 * K * 2, 64);
        var rng = new Random(5);
        var words = new Span<ushort>(pool, (int)(SetBytes * Sets / 2));
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = Accel.Types.NumericFormats.F32ToBF16((float)(rng.NextDouble() - 0.5) * 0.1f);
        }

        for (int i = 0; i < K4; i++) { x[i] = (float)(rng.NextDouble() * 2 - 1); }

        // The per-format activations and scales (every block scale 1).
        float* x90 = (float*)NativeMemory.AlignedAlloc(K8 * 4, 64);
        float* split = (float*)NativeMemory.AlignedAlloc(K4 * 4, 64);
        byte* quantized = (byte*)NativeMemory.AlignedAlloc((nuint)Fp4VnniKernel.Bytes(1, K4), 64);
        GemmJob.ScaleRows(x, K8, 1, K8, x90);
        Fp4Kernel.SplitRows(x, K4, 1, K4, split);
        Fp4VnniKernel.Quantize(x, K4, 1, K4, quantized);
        // The 512-bit kernel with 22-, 16- and 8-bit activations (three, two and one int8 terms).
        byte*[] quantized512 = new byte*[3];
        for (int terms = 1; terms <= 3; terms++)
        {
            quantized512[terms - 1] = (byte*)NativeMemory.AlignedAlloc((nuint)Fp4VnniKernel.Bytes(1, K4), 64);
            Fp4VnniKernel.Quantize(x, K4, 1, K4, quantized512[terms - 1], Fp4Vnni512Kernel.ChunkColumns, terms);
        }

        var zmm = Fp4Vnni512Kernel.IsAvailable
            ? new[] { 3, 2, 1 }.SelectMany(terms => (Fp4Vnni512Kernel.CanPermute ? new[] { false, true } : [false])
                .Select(permute => Fp4Vnni512Kernel.Get(1, prefetch, terms, permute: permute))).ToArray()
            : null;
        Scales = (byte*)NativeMemory.AlignedAlloc(K4 / 32, 64);
        new Span<byte>(Scales, K4 / 32).Fill(127);
        Fp8Scales = (float*)NativeMemory.AlignedAlloc(K8 / 128 * 4, 64);
        new Span<float>(Fp8Scales, K8 / 128).Fill(1f);

        Bf16Split.SplitRow(x, hi, lo, 4 * K);
        long splitTicks = Stopwatch.GetTimestamp();
        for (int i = 0; i < 10000; i++) { Bf16Split.SplitRow(x, hi, lo, K); }
        double splitNs = Stopwatch.GetElapsedTime(splitTicks).TotalNanoseconds / 10000;

        float* a = stackalloc float[4];
        float* b = stackalloc float[4];
        var w0 = Rows(pool, 0);
        Bf16Kernel.Dot4(a, hi, lo, &w0, K);
        DotKernel.Run<BF16Format, R1>(x, K, &w0, K, b, 0);
        Console.WriteLine($"check: bf16 kernel {a[0]:F6} {a[1]:F6} {a[2]:F6} {a[3]:F6}; " +
            $"C# widen+FMA {b[0]:F6} {b[1]:F6} {b[2]:F6} {b[3]:F6}");
        Console.WriteLine($"split of one 1024-float row into hi/lo: {splitNs:F0} ns");
        Console.WriteLine($"4 weight rows x K={K} (8 KB per call), {SetBytes >> 20} MB per set, " +
            $"{GroupsPerSet} calls per set; prefetch {prefetch} B");
        var one0 = Bf16Kernel.Get(1, 0);
        var one = Bf16Kernel.Get(1, prefetch);
        var four = Bf16Kernel.Get(4, prefetch);
        Measure(pool, [
            ("1 row  AVX512-BF16, no prefetch", (w, t) => one0.Dot(hi, lo, 0, w, K, t)),
            ("1 row  C# widen+FMA, no prefetch", (w, t) => DotKernel.Run<BF16Format, R1>(x, K, w, K, t, 0)),
            ("1 row  AVX512-BF16", (w, t) => one.Dot(hi, lo, 0, w, K, t)),
            ("1 row  C# widen+FMA", (w, t) => DotKernel.Run<BF16Format, R1>(x, K, w, K, t, prefetch)),
            ("4 rows AVX512-BF16", (w, t) => four.Dot(hi, lo, K, w, K, t)),
            ("4 rows C# widen+FMA", (w, t) => DotKernel.Run<BF16Format, R4>(x, K, w, K, t, prefetch)),
            ("1 row  fp8 two multiplies", (w, t) => { var r = Fp8(w); DotKernel.Run<Fp8F32ScaleFormat, R1>(x, K8, &r, K8, t, prefetch); }),
            ("1 row  fp8 one multiply", (w, t) => { var r = Fp8(w); DotKernel.Run<Fp8F32ScaleX90Format, R1>(x90, K8, &r, K8, t, prefetch); }),
            ("1 row  FP4 per-16 decoder", (w, t) => DotKernel.Run<Fp4Format, R1>(x, K4, w, K4, t, prefetch)),
            ("1 row  FP4 block kernel", (w, t) => Fp4Kernel.Run<R1>(split, K4, w, K4, t, prefetch)),
            .. Fp4VnniKernel.IsSupported
                ? new (string, Call)[] { ("1 row  FP4 AVX-VNNI", (w, t) => Fp4VnniKernel.Run<R1, R3>(quantized, 0, w, K4, t, prefetch)) }
                : [],
            .. zmm is not null
                ? zmm.Select(k => ($"1 row  FP4 AVX512-VNNI {Fp4VnniKernel.TermBits(k.Terms)}-bit x{(k.Permutes ? ", vpermb" : "")}", (Call)((w, t) =>
                    k.Run(quantized512[k.Terms - 1], quantized512[k.Terms - 1], w, K4, t)))).ToArray()
                : [],
        ]);

        NativeMemory.AlignedFree(pool);
        NativeMemory.AlignedFree(x);
        NativeMemory.AlignedFree(hi);
        NativeMemory.AlignedFree(lo);
        NativeMemory.AlignedFree(x90);
        NativeMemory.AlignedFree(split);
        NativeMemory.AlignedFree(quantized);
        foreach (byte* q in quantized512)
        {
            NativeMemory.AlignedFree(q);
        }
        return 0;
    }

    private delegate void Call(WeightRows4* rows, float* tile);

    /// <summary>FP4 UE8M0 scales of one row (all 2^0), shared by every row.</summary>
    private static byte* Scales;

    /// <summary>fp8 fp32 block scales of one row (all 1), shared by every row.</summary>
    private static float* Fp8Scales;

    /// <summary>The rows with the fp8 scales.</summary>
    private static WeightRows4 Fp8(WeightRows4* w)
    {
        var r = *w;
        r.S0 = r.S1 = r.S2 = r.S3 = (byte*)Fp8Scales;
        return r;
    }

    private static WeightRows4 Rows(byte* set, int group)
    {
        byte* r = set + group * 4 * RowBytes;
        return new WeightRows4
        {
            R0 = r, R1 = r + RowBytes, R2 = r + 2 * RowBytes, R3 = r + 3 * RowBytes,
            S0 = Scales, S1 = Scales, S2 = Scales, S3 = Scales,
        };
    }

    private static double Pass(Call call, byte* set, bool sameGroup = false)
    {
        float* tile = stackalloc float[16];
        long start = Stopwatch.GetTimestamp();
        for (int g = 0; g < GroupsPerSet; g++)
        {
            var rows = Rows(set, sameGroup ? 0 : g);
            call(&rows, tile);
        }

        return Stopwatch.GetElapsedTime(start).TotalNanoseconds;
    }

    /// <summary>
    /// Times every kernel in rounds, the kernels taking turns within each round so that the
    /// machine's changing load falls on all of them alike; prints medians over all rounds.
    /// </summary>
    private static void Measure(byte* pool, (string Name, Call Call)[] kernels)
    {
        const int Rounds = 6, Reps = 5;
        var l1 = kernels.Select(_ => new List<double>()).ToArray();
        var hot = kernels.Select(_ => new List<double>()).ToArray();
        var cold = kernels.Select(_ => new List<double>()).ToArray();
        int next = 0;
        for (int round = 0; round < Rounds; round++)
        {
            for (int j = 0; j < kernels.Length; j++)
            {
                Call call = kernels[j].Call;
                for (int i = 0; i < Reps; i++) { l1[j].Add(Pass(call, pool, sameGroup: true)); }
                Pass(call, pool);
                for (int i = 0; i < Reps; i++) { hot[j].Add(Pass(call, pool)); }

                // Sets visited in turn across all kernels: each was last touched 31 passes ago.
                for (int i = 0; i < Reps; i++) { cold[j].Add(Pass(call, pool + (++next % Sets) * SetBytes)); }
            }
        }

        Console.WriteLine($"{"kernel",-34} {"L1: one 8 KB group",-28} {"hot: 12 MB set",-28} cold: 384 MB pool");
        for (int j = 0; j < kernels.Length; j++)
        {
            Console.WriteLine($"{kernels[j].Name,-34} {Line(l1[j]),-28} {Line(hot[j]),-28} {Line(cold[j])}");
        }
    }

    private static string Line(List<double> passNs)
    {
        passNs.Sort();
        double median = passNs[passNs.Count / 2];
        return $"{median / GroupsPerSet,5:F0} ns {SetBytes / median,6:F1} GB/s";
    }

    /// <summary>Argument <paramref name="index"/> as an integer in [min, max] (<paramref name="fallback"/> when absent); null, with the usage printed, when it is not one.</summary>
    private static int? Number(string[] args, int index, int fallback, int min, int max, string name)
    {
        if (args.Length <= index)
        {
            return fallback;
        }

        if (int.TryParse(args[index], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int value)
            && value >= min && value <= max)
        {
            return value;
        }

        Console.Error.WriteLine($"{name} '{args[index]}' is not a whole number from {min} to {max}.");
        Console.Error.WriteLine(Usage);
        return null;
    }
}
