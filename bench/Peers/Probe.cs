using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Accel.Peers;

/// <summary>
/// Measures this machine in the same run as the engines: the read bandwidth of a 512 MiB buffer
/// streamed by every thread (each its own part, four streams per thread) and the fp32 FMA rate of
/// 12 independent 512-bit chains per thread. Both are the best of several tries, so they are what
/// the machine could give at that moment, the floors the engines are held to.
/// </summary>
internal static unsafe class Probe
{
    private const long Bytes = 512L << 20;

    /// <summary>Read bandwidth in GB/s with <paramref name="threads"/> threads (best of <paramref name="tries"/>).</summary>
    public static double BandwidthGbps(int threads, int tries = 5)
    {
        float* data = (float*)NativeMemory.AlignedAlloc((nuint)Bytes, 64);
        try
        {
            new Span<byte>(data, (int)(Bytes / 2)).Fill(1);
            new Span<byte>((byte*)data + Bytes / 2, (int)(Bytes / 2)).Fill(1);
            long floats = Bytes / 4, part = floats / threads;
            double best = 0;
            for (int i = 0; i < tries; i++)
            {
                double s = Timed(threads, t => Read(data + t * part, part));
                best = Math.Max(best, Bytes / s / 1e9);
            }

            return best;
        }
        finally
        {
            NativeMemory.AlignedFree(data);
        }
    }

    /// <summary>fp32 FMA rate in GFLOP/s with <paramref name="threads"/> threads (best of <paramref name="tries"/>).</summary>
    public static double PeakGflops(int threads, int tries = 3)
    {
        const long iterations = 20_000_000;
        double best = 0;
        for (int i = 0; i < tries; i++)
        {
            double s = Timed(threads, _ => Fma(iterations));
            best = Math.Max(best, threads * iterations * 12 * 32 / s / 1e9);
        }

        return best;
    }

    private static double Timed(int threads, Func<int, float> body)
    {
        var sink = new float[threads];
        var workers = new Thread[threads];
        using var start = new Barrier(threads + 1);
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            workers[t] = new Thread(() => { start.SignalAndWait(); sink[id] = body(id); });
            workers[t].Start();
        }

        start.SignalAndWait();
        var clock = Stopwatch.StartNew();
        foreach (var w in workers) { w.Join(); }
        double seconds = clock.Elapsed.TotalSeconds;
        GC.KeepAlive(sink);
        return seconds;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Read(float* p, long count)
    {
        var z = Vector512<float>.Zero;
        Vector512<float> a = z, b = z, c = z, d = z;
        long quarter = count / 4 & ~15L;
        float* p1 = p + quarter, p2 = p + 2 * quarter, p3 = p + 3 * quarter;
        for (long i = 0; i < quarter; i += 16)
        {
            a += Vector512.Load(p + i);
            b += Vector512.Load(p1 + i);
            c += Vector512.Load(p2 + i);
            d += Vector512.Load(p3 + i);
        }

        return Vector512.Sum(a + b + c + d);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Fma(long iterations)
    {
        var m = Vector512.Create(0.999999f);
        var add = Vector512.Create(1e-7f);
        Vector512<float> c0 = m, c1 = m, c2 = m, c3 = m, c4 = m, c5 = m, c6 = m, c7 = m, c8 = m, c9 = m, c10 = m, c11 = m;
        for (long i = 0; i < iterations; i++)
        {
            c0 = Vector512.FusedMultiplyAdd(c0, m, add);
            c1 = Vector512.FusedMultiplyAdd(c1, m, add);
            c2 = Vector512.FusedMultiplyAdd(c2, m, add);
            c3 = Vector512.FusedMultiplyAdd(c3, m, add);
            c4 = Vector512.FusedMultiplyAdd(c4, m, add);
            c5 = Vector512.FusedMultiplyAdd(c5, m, add);
            c6 = Vector512.FusedMultiplyAdd(c6, m, add);
            c7 = Vector512.FusedMultiplyAdd(c7, m, add);
            c8 = Vector512.FusedMultiplyAdd(c8, m, add);
            c9 = Vector512.FusedMultiplyAdd(c9, m, add);
            c10 = Vector512.FusedMultiplyAdd(c10, m, add);
            c11 = Vector512.FusedMultiplyAdd(c11, m, add);
        }

        return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
    }
}
