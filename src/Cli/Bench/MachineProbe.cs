using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Accel.Cli.Bench;

/// <summary>How much <see cref="MachineProbe"/> measures: a larger window is steadier, a smaller one quicker.</summary>
/// <param name="BufferBytes">Bytes of the buffer the bandwidth probe reads (well above the last-level cache for DRAM figures).</param>
/// <param name="FmaIterations">Iterations of the FMA loop per thread and try (12 FMAs each).</param>
/// <param name="BandwidthTries">Passes over the buffer; the best is kept.</param>
/// <param name="FmaTries">Runs of the FMA loop; the best is kept.</param>
public sealed record ProbeSettings(long BufferBytes, long FmaIterations, int BandwidthTries, int FmaTries)
{
    /// <summary>The window of <c>accel bench</c> and <c>bench/Peers</c>: 512 MiB read 5 times, 3 FMA runs (well under a second of measuring on 2 threads).</summary>
    public static ProbeSettings Default { get; } = new(512L << 20, 20_000_000, 5, 3);

    /// <summary>A window of milliseconds for tests: the figures are finite and positive but only roughly the machine's.</summary>
    public static ProbeSettings Quick { get; } = new(8L << 20, 100_000, 2, 2);
}

/// <summary>What <see cref="MachineProbe"/> measured.</summary>
/// <param name="PeakGflops">fp32 FMA rate, GFLOP/s.</param>
/// <param name="BandwidthGbps">Read bandwidth, GB/s.</param>
/// <param name="Threads">Threads measured with.</param>
public sealed record MachineFigures(double PeakGflops, double BandwidthGbps, int Threads);

/// <summary>
/// Measures this machine's roofline: the read bandwidth of a buffer streamed by every thread (each
/// its own part, four streams per thread) and the fp32 FMA rate of 12 independent vector chains per
/// thread, with the widest vectors the CPU backend's kernels use (512-bit where AVX-512 is present,
/// else <see cref="Vector{T}"/>). Both are the best of several tries: what the machine could give
/// at that moment, the floors a benchmark is held to.
/// </summary>
public static unsafe class MachineProbe
{
    private const int Streams = 4;
    private const int Chains = 12;

    /// <summary>The vector width the probe measures with, e.g. <c>512-bit</c>.</summary>
    public static string VectorWidth => $"{(Vector512.IsHardwareAccelerated ? 512 : Vector<float>.Count * 32)}-bit";

    /// <summary>Measures both figures with <paramref name="threads"/> threads.</summary>
    public static MachineFigures Measure(int threads, ProbeSettings? settings = null) =>
        new(PeakGflops(threads, settings), BandwidthGbps(threads, settings), threads);

    /// <summary>Read bandwidth in GB/s with <paramref name="threads"/> threads (best of the settings' tries).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive, or the buffer is too small for the threads.</exception>
    public static double BandwidthGbps(int threads, ProbeSettings? settings = null)
    {
        var s = Check(threads, settings);
        return Vector512.IsHardwareAccelerated
            ? Bandwidth<Vector512<float>, Lanes512>(threads, s)
            : Bandwidth<Vector<float>, LanesPortable>(threads, s);
    }

    /// <summary>fp32 FMA rate in GFLOP/s with <paramref name="threads"/> threads (best of the settings' tries).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive.</exception>
    public static double PeakGflops(int threads, ProbeSettings? settings = null)
    {
        var s = Check(threads, settings);
        return Vector512.IsHardwareAccelerated
            ? Peak<Vector512<float>, Lanes512>(threads, s)
            : Peak<Vector<float>, LanesPortable>(threads, s);
    }

    private static ProbeSettings Check(int threads, ProbeSettings? settings)
    {
        var s = settings ?? ProbeSettings.Default;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(s.FmaIterations);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(s.BandwidthTries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(s.FmaTries);
        ArgumentOutOfRangeException.ThrowIfLessThan(s.BufferBytes, (long)threads * Streams * 64 * sizeof(float));
        return s;
    }

    /// <summary>
    /// Read bandwidth in GB/s of one pass over <paramref name="bytes"/> bytes at <paramref name="data"/>
    /// (64-byte aligned) by <paramref name="threads"/> threads, each its own part in four streams, as
    /// the probe reads: what the machine gives at this moment. Benchmarks that evict the caches
    /// between runs read with it, so each run can be held to the bandwidth of its own moment.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive, or the buffer is too small for the threads.</exception>
    public static double ReadGbps(void* data, long bytes, int threads)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, (long)threads * Streams * 64 * sizeof(float));
        return Vector512.IsHardwareAccelerated
            ? ReadPass<Vector512<float>, Lanes512>((float*)data, bytes, threads)
            : ReadPass<Vector<float>, LanesPortable>((float*)data, bytes, threads);
    }

    private static double Bandwidth<TVec, TLanes>(int threads, ProbeSettings s)
        where TVec : struct
        where TLanes : ILanes<TVec>
    {
        float* data = (float*)NativeMemory.AlignedAlloc((nuint)s.BufferBytes, 64);
        try
        {
            NativeMemory.Fill(data, (nuint)s.BufferBytes, 1);
            double best = 0;
            for (int i = 0; i < s.BandwidthTries; i++)
            {
                best = Math.Max(best, ReadPass<TVec, TLanes>(data, s.BufferBytes, threads));
            }

            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(data);
        }
    }

    private static double ReadPass<TVec, TLanes>(float* data, long bufferBytes, int threads)
        where TVec : struct
        where TLanes : ILanes<TVec>
    {
        long part = bufferBytes / sizeof(float) / threads;
        long perStream = part / Streams / TLanes.Count * TLanes.Count;
        double bytes = (double)threads * Streams * perStream * sizeof(float);
        return bytes / Timed(threads, t => Read<TVec, TLanes>(data + t * part, perStream)) / 1e9;
    }

    private static double Peak<TVec, TLanes>(int threads, ProbeSettings s)
        where TVec : struct
        where TLanes : ILanes<TVec>
    {
        double flops = 2.0 * threads * s.FmaIterations * Chains * TLanes.Count;
        double best = 0;
        for (int i = 0; i < s.FmaTries; i++)
        {
            best = Math.Max(best, flops / Timed(threads, _ => Fma<TVec, TLanes>(s.FmaIterations)) / 1e9);
        }

        return best;
    }

    /// <summary>
    /// Seconds from the first of <paramref name="threads"/> threads, released together, starting
    /// <paramref name="body"/> until the last finishes it. Each thread takes its own timestamps, so
    /// the span does not depend on when the releasing thread is scheduled (timed from there, a
    /// releasing thread descheduled after the release could miss the whole read and report an
    /// impossible bandwidth).
    /// </summary>
    private static double Timed(int threads, Func<int, float> body)
    {
        var sink = new float[threads];
        var begin = new long[threads];
        var end = new long[threads];
        var workers = new Thread[threads];
        using var start = new Barrier(threads + 1);
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() =>
            {
                start.SignalAndWait();
                begin[id] = Stopwatch.GetTimestamp();
                sink[id] = body(id);
                end[id] = Stopwatch.GetTimestamp();
            });
            workers[t].Start();
        }

        start.SignalAndWait();
        foreach (var w in workers)
        {
            w.Join();
        }

        GC.KeepAlive(sink);
        return (double)(end.Max() - begin.Min()) / Stopwatch.Frequency;
    }

    /// <summary>Sums <paramref name="perStream"/> floats from each of four streams spaced through the part at <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Read<TVec, TLanes>(float* p, long perStream)
        where TVec : struct
        where TLanes : ILanes<TVec>
    {
        TVec a = TLanes.Splat(0), b = a, c = a, d = a;
        float* p1 = p + perStream, p2 = p + 2 * perStream, p3 = p + 3 * perStream;
        for (long i = 0; i < perStream; i += TLanes.Count)
        {
            a = TLanes.Add(a, TLanes.Load(p + i));
            b = TLanes.Add(b, TLanes.Load(p1 + i));
            c = TLanes.Add(c, TLanes.Load(p2 + i));
            d = TLanes.Add(d, TLanes.Load(p3 + i));
        }

        return TLanes.Sum(TLanes.Add(TLanes.Add(a, b), TLanes.Add(c, d)));
    }

    /// <summary>Runs 12 independent FMA chains for <paramref name="iterations"/> steps (enough to hide the FMA latency).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Fma<TVec, TLanes>(long iterations)
        where TVec : struct
        where TLanes : ILanes<TVec>
    {
        TVec m = TLanes.Splat(0.999999f), add = TLanes.Splat(1e-7f);
        TVec c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
        for (long i = 0; i < iterations; i++)
        {
            c0 = TLanes.Fma(c0, m, add);
            c1 = TLanes.Fma(c1, m, add);
            c2 = TLanes.Fma(c2, m, add);
            c3 = TLanes.Fma(c3, m, add);
            c4 = TLanes.Fma(c4, m, add);
            c5 = TLanes.Fma(c5, m, add);
            c6 = TLanes.Fma(c6, m, add);
            c7 = TLanes.Fma(c7, m, add);
            c8 = TLanes.Fma(c8, m, add);
            c9 = TLanes.Fma(c9, m, add);
            c10 = TLanes.Fma(c10, m, add);
            c11 = TLanes.Fma(c11, m, add);
        }

        var sum = TLanes.Add(TLanes.Add(TLanes.Add(c0, c1), TLanes.Add(c2, c3)), TLanes.Add(TLanes.Add(c4, c5), TLanes.Add(c6, c7)));
        return TLanes.Sum(TLanes.Add(sum, TLanes.Add(TLanes.Add(c8, c9), TLanes.Add(c10, c11))));
    }

    /// <summary>The vector operations the probe loops need, for one vector width (specialised per struct, so inlined).</summary>
    private interface ILanes<TVec>
        where TVec : struct
    {
        static abstract int Count { get; }

        static abstract TVec Load(float* p);

        static abstract TVec Splat(float value);

        static abstract TVec Add(TVec a, TVec b);

        static abstract TVec Fma(TVec a, TVec b, TVec c);

        static abstract float Sum(TVec v);
    }

    private readonly struct Lanes512 : ILanes<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;

        public static Vector512<float> Load(float* p) => Vector512.Load(p);

        public static Vector512<float> Splat(float value) => Vector512.Create(value);

        public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

        public static Vector512<float> Fma(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

        public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    }

    private readonly struct LanesPortable : ILanes<Vector<float>>
    {
        public static int Count => Vector<float>.Count;

        public static Vector<float> Load(float* p) => Vector.Load(p);

        public static Vector<float> Splat(float value) => new(value);

        public static Vector<float> Add(Vector<float> a, Vector<float> b) => a + b;

        public static Vector<float> Fma(Vector<float> a, Vector<float> b, Vector<float> c) => Vector.FusedMultiplyAdd(a, b, c);

        public static float Sum(Vector<float> v) => Vector.Sum(v);
    }
}
