using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Accel.Backends.Cpu.Bf16;
using Accel.Backends.Cpu.Kernels;

namespace Accel.KernelBench;

/// <summary>
/// One-off measurement for the decode GEMV on bf16 weights: 4 weight rows of K = 1024 (2 KB each)
/// against one activation row, over one 8 KB group again and again (L1: the kernel's own speed),
/// over a 12 MB set of weight rows (hot: the same set again and again, in L2/L3) and cold (32 such sets in turn, 384 MB, so each set is evicted before its
/// next turn). Compares the AVX512-BF16 kernel (hi/lo split activations) with a C# AVX-512 kernel
/// that widens bf16 to fp32 and FMAs, as the backend's DotKernel does for one row. Single thread.
/// Usage: accel-kernel-bench [prefetchBytes] (default 16384: two 4-row groups ahead).
/// </summary>
internal static unsafe class Program
{
    private const int K = 1024;
    private const long RowBytes = K * 2;
    private const long SetBytes = 12L << 20;
    private const int Sets = 32;
    private const int GroupsPerSet = (int)(SetBytes / RowBytes / 4);

    private static int Main(string[] args)
    {
        if (!Bf16Runtime.IsAvailable)
        {
            Console.Error.WriteLine($"AVX512-BF16 kernels not available: {Bf16Runtime.WhyUnavailable}");
            return 1;
        }

        int prefetch = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 16384;
        byte* pool = (byte*)NativeMemory.AlignedAlloc((nuint)(SetBytes * Sets), 64);
        float* x = (float*)NativeMemory.AlignedAlloc(K * 4, 64);
        ushort* hi = (ushort*)NativeMemory.AlignedAlloc(K * 2, 64);
        ushort* lo = (ushort*)NativeMemory.AlignedAlloc(K * 2, 64);
        var rng = new Random(5);
        var words = new Span<ushort>(pool, (int)(SetBytes * Sets / 2));
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = Accel.Types.NumericFormats.F32ToBF16((float)(rng.NextDouble() - 0.5) * 0.1f);
        }

        for (int i = 0; i < K; i++) { x[i] = (float)(rng.NextDouble() * 2 - 1); }

        Bf16Split.SplitRow(x, hi, lo, K);
        long splitTicks = Stopwatch.GetTimestamp();
        for (int i = 0; i < 10000; i++) { Bf16Split.SplitRow(x, hi, lo, K); }
        double splitNs = Stopwatch.GetElapsedTime(splitTicks).TotalNanoseconds / 10000;

        float* a = stackalloc float[4];
        float* b = stackalloc float[4];
        var w0 = Rows(pool, 0);
        Bf16Kernel.Dot4(a, hi, lo, &w0, K);
        WidenFma(x, &w0, K, b, 0);
        Console.WriteLine($"check: bf16 kernel {a[0]:F6} {a[1]:F6} {a[2]:F6} {a[3]:F6}; " +
            $"C# widen+FMA {b[0]:F6} {b[1]:F6} {b[2]:F6} {b[3]:F6}");
        Console.WriteLine($"split of one 1024-float row into hi/lo: {splitNs:F0} ns");
        Console.WriteLine($"4 weight rows x K={K} (8 KB per call), {SetBytes >> 20} MB per set, " +
            $"{GroupsPerSet} calls per set; prefetch {prefetch} B");
        foreach (int pf in new[] { 0, prefetch })
        {
            var kernel = Bf16Kernel.Get(1, pf);
            Report("AVX512-BF16 vdpbf16ps (hi+lo)", pf, (w, t) => kernel.Dot(hi, lo, 0, w, K, t), pool);
            Report("C# AVX-512 widen + FMA", pf, (w, t) => WidenFma(x, w, K, t, pf), pool);
        }

        NativeMemory.AlignedFree(pool);
        NativeMemory.AlignedFree(x);
        NativeMemory.AlignedFree(hi);
        NativeMemory.AlignedFree(lo);
        return 0;
    }

    private delegate void Call(WeightRows4* rows, float* tile);

    private static WeightRows4 Rows(byte* set, int group)
    {
        byte* r = set + group * 4 * RowBytes;
        return new WeightRows4 { R0 = r, R1 = r + RowBytes, R2 = r + 2 * RowBytes, R3 = r + 3 * RowBytes };
    }

    private static double Pass(Call call, byte* set, bool sameGroup = false)
    {
        float* tile = stackalloc float[4];
        long start = Stopwatch.GetTimestamp();
        for (int g = 0; g < GroupsPerSet; g++)
        {
            var rows = Rows(set, sameGroup ? 0 : g);
            call(&rows, tile);
        }

        return Stopwatch.GetElapsedTime(start).TotalNanoseconds;
    }

    private static void Report(string name, int prefetch, Call call, byte* pool)
    {
        var l1 = new double[30];
        for (int i = 0; i < l1.Length; i++) { l1[i] = Pass(call, pool, sameGroup: true); }

        for (int i = 0; i < 5; i++) { Pass(call, pool); }
        var hot = new double[30];
        for (int i = 0; i < hot.Length; i++) { hot[i] = Pass(call, pool); }

        var cold = new double[2 * Sets];
        for (int i = 0; i < Sets; i++) { Pass(call, pool + (i % Sets) * SetBytes); }
        for (int i = 0; i < cold.Length; i++) { cold[i] = Pass(call, pool + (i % Sets) * SetBytes); }

        Console.WriteLine($"{name,-32} prefetch {prefetch,5} B");
        Console.WriteLine($"    L1 (one 8 KB group): {Line(l1)}");
        Console.WriteLine($"    hot (12 MB set):     {Line(hot)}");
        Console.WriteLine($"    cold (384 MB pool):  {Line(cold)}");
    }

    private static string Line(double[] passNs)
    {
        Array.Sort(passNs);
        double median = passNs[passNs.Length / 2];
        return $"{median / GroupsPerSet,6:F0} ns/call {SetBytes / median,6:F1} GB/s (best {SetBytes / passNs[0]:F1})";
    }

    /// <summary>tile[n] = sum_k x[k] * W[n, k]: bf16 widened to fp32 in registers, 4 FMA accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WidenFma(float* x, WeightRows4* w, int k, float* tile, nint prefetch)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        ushort* r0 = (ushort*)w->R0, r1 = (ushort*)w->R1, r2 = (ushort*)w->R2, r3 = (ushort*)w->R3;
        for (int i = 0; i < k; i += 16)
        {
            if (prefetch != 0)
            {
                Sse.Prefetch0((byte*)(r0 + i) + prefetch);
                Sse.Prefetch0((byte*)(r1 + i) + prefetch);
                Sse.Prefetch0((byte*)(r2 + i) + prefetch);
                Sse.Prefetch0((byte*)(r3 + i) + prefetch);
            }

            var xv = Vector512.Load(x + i);
            a0 = Vector512.FusedMultiplyAdd(xv, Widen(r0 + i), a0);
            a1 = Vector512.FusedMultiplyAdd(xv, Widen(r1 + i), a1);
            a2 = Vector512.FusedMultiplyAdd(xv, Widen(r2 + i), a2);
            a3 = Vector512.FusedMultiplyAdd(xv, Widen(r3 + i), a3);
        }

        tile[0] = Vector512.Sum(a0);
        tile[1] = Vector512.Sum(a1);
        tile[2] = Vector512.Sum(a2);
        tile[3] = Vector512.Sum(a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Widen(ushort* p) =>
        Vector512.ShiftLeft(Avx512F.ConvertToVector512UInt32(Vector256.Load(p)), 16).AsSingle();
}
