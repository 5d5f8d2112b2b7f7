using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Accel.Backends.Cpu;
using Accel.Backends.Cpu.Kernels;
using Accel.Backends.Cpu.Vnni;

namespace Accel.KernelBench;

/// <summary>
/// Where the FP4 decode loses to the memory: several threads stream 48 MB of FP4 weight matrices
/// (4096 columns, 2 KB rows, as the DeepSeek-V4-Flash gate and up projections) from a 1.25 GB pool,
/// in 256 KB tiles handed out one at a time, the way the cpu backend's decode tiles are, with cold
/// caches (each pass reads matrices not touched for 25 passes). The same tiles are read as one
/// linear stream, as four rows side by side (the decode kernel's order) without and with software
/// prefetch, and decoded by the 512-bit VNNI FP4 kernel with 22-, 16- and 8-bit activations, on
/// row-major rows and on the four-row interleaved layout (the bytes are random, so either reading
/// of them times the same), and in pair mode (gate and up rows of two matrices). The
/// workloads take turns within each round, so a change in the machine's bandwidth falls on all of
/// them alike; the figures are medians. Usage: accel-kernel-bench streams [threads] (default 2).
/// </summary>
internal static unsafe class Streams
{
    private const int K = 4096, RowBytes = K / 2, ScaleRowBytes = K / 32, Rows = 2048, TileGroups = 32;
    private const long MatrixBytes = (long)Rows * RowBytes, MatrixScaleBytes = (long)Rows * ScaleRowBytes;
    private const int Matrices = 300, MatricesPerPass = 12, Prefetch = 8192, Rounds = 40;
    private const int TilesPerMatrix = Rows / 4 / TileGroups;

    private delegate void Tile(byte* w, byte* s);

    private static byte* _codes, _scales;
    private static long _first;
    private static int _next, _done, _generation;
    private static Tile _work = (_, _) => { };

    public static int Run(int threads)
    {
        if (!Fp4Vnni512Kernel.IsAvailable)
        {
            Console.Error.WriteLine($"The AVX512-VNNI FP4 kernel cannot run here: {Fp4Vnni512Kernel.WhyUnavailable}");
            return 1;
        }

        _codes = HugePages.Allocate(Matrices * MatrixBytes);
        _scales = HugePages.Allocate(Matrices * MatrixScaleBytes);
        Fill(_codes, Matrices * MatrixBytes, 0, 255);
        Fill(_scales, Matrices * MatrixScaleBytes, 120, 134);
        var rng = new Random(7);
        float* x = (float*)NativeMemory.AlignedAlloc(K * 4, 64);
        for (int i = 0; i < K; i++) { x[i] = (float)(rng.NextDouble() * 2 - 1); }

        var workloads = new List<(string Name, bool Scales, Tile Work)>
        {
            ("linear read", false, (w, _) => ReadLinear(w)),
            ("four rows side by side", false, (w, _) => ReadFourRows(w, false)),
            ("four rows, prefetch 8 KB ahead", false, (w, _) => ReadFourRows(w, true)),
        };
        foreach (int terms in new[] { 3, 2, 1 })
        {
            byte* q = (byte*)NativeMemory.AlignedAlloc((nuint)Fp4VnniKernel.Bytes(1, K), 64);
            Fp4VnniKernel.Quantize(x, K, 1, K, q, Fp4Vnni512Kernel.ChunkColumns, terms);
            var kernel = Fp4Vnni512Kernel.Get(1, Prefetch, terms);
            workloads.Add(($"FP4 AVX512-VNNI, {Fp4VnniKernel.TermBits(terms)}-bit x", true, (w, s) => Decode(kernel, q, w, s, false, false)));
            var quad = Fp4Vnni512Kernel.Get(1, Prefetch, terms, quads: true);
            workloads.Add(($"FP4 quads, {Fp4VnniKernel.TermBits(terms)}-bit x", true, (w, s) => Decode(quad, q, w, s, true, false)));
            if (terms == 3)
            {
                workloads.Add(("pair rows, 22-bit x", true, (w, s) => Decode(kernel, q, w, s, false, true)));
                workloads.Add(("pair quads, 22-bit x", true, (w, s) => Decode(quad, q, w, s, true, true)));
            }
        }

        var helpers = Enumerable.Range(1, threads - 1).Select(_ => new Thread(Helper) { IsBackground = true }).ToArray();
        foreach (var t in helpers) { t.Start(); }

        var gbps = workloads.Select(_ => new List<double>()).ToArray();
        long cursor = 0;
        for (int round = -1; round < Rounds; round++)
        {
            for (int j = 0; j < workloads.Count; j++)
            {
                _first = cursor;
                cursor = (cursor + MatricesPerPass) % (Matrices - MatricesPerPass);
                double seconds = Pass(workloads[j].Work, threads);
                long bytes = MatricesPerPass * (MatrixBytes + (workloads[j].Scales ? MatrixScaleBytes : 0));
                if (round >= 0) { gbps[j].Add(bytes / seconds / 1e9); }
            }
        }

        Console.WriteLine($"{threads} threads, {MatricesPerPass * MatrixBytes >> 20} MB of 2 KB FP4 rows per pass in 256 KB tiles, cold; " +
            $"medians of {Rounds} passes (GB/s of the bytes each reads: codes, and for the kernels their scales too)");
        for (int j = 0; j < workloads.Count; j++)
        {
            gbps[j].Sort();
            Console.WriteLine($"  {workloads[j].Name,-34} {gbps[j][gbps[j].Count / 2],6:F1} GB/s  (best {gbps[j][^1]:F1})");
        }

        return 0;
    }

    /// <summary>Fills with a repeating random pattern of values in [lo, hi] (filling 1.25 GB from the generator byte by byte would take seconds).</summary>
    private static void Fill(byte* p, long bytes, int lo, int hi)
    {
        var rng = new Random(lo);
        var pattern = new byte[1 << 20];
        for (int i = 0; i < pattern.Length; i++) { pattern[i] = (byte)rng.Next(lo, hi + 1); }
        for (long at = 0; at < bytes; at += pattern.Length)
        {
            int n = (int)Math.Min(pattern.Length, bytes - at);
            pattern.AsSpan(0, n).CopyTo(new Span<byte>(p + at, n));
        }
    }

    /// <summary>One pass: every thread (this one too) takes tiles until none are left.</summary>
    private static double Pass(Tile work, int threads)
    {
        _work = work;
        _next = 0;
        _done = 0;
        Thread.Sleep(2);
        long start = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _generation);
        Tiles();
        while (Volatile.Read(ref _done) < threads) { Thread.SpinWait(16); }
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static void Helper()
    {
        int seen = 0;
        while (true)
        {
            while (Volatile.Read(ref _generation) == seen) { Thread.SpinWait(16); }
            seen = Volatile.Read(ref _generation);
            Tiles();
        }
    }

    private static void Tiles()
    {
        int tile;
        while ((tile = Interlocked.Increment(ref _next) - 1) < MatricesPerPass * TilesPerMatrix)
        {
            long matrix = _first + tile / TilesPerMatrix, group = (long)(tile % TilesPerMatrix) * TileGroups;
            _work(_codes + matrix * MatrixBytes + group * 4 * RowBytes, _scales + matrix * MatrixScaleBytes + group * 4 * ScaleRowBytes);
        }

        Interlocked.Increment(ref _done);
    }

    private static void ReadLinear(byte* w)
    {
        var acc = Vector512<byte>.Zero;
        for (long c = 0; c < (long)TileGroups * 4 * RowBytes; c += 256)
        {
            acc |= Vector512.Load(w + c) | Vector512.Load(w + c + 64) | Vector512.Load(w + c + 128) | Vector512.Load(w + c + 192);
        }

        Keep(acc);
    }

    private static void ReadFourRows(byte* w, bool prefetch)
    {
        var acc = Vector512<byte>.Zero;
        for (int g = 0; g < TileGroups; g++, w += 4 * RowBytes)
        {
            for (int c = 0; c < RowBytes; c += 64)
            {
                if (prefetch)
                {
                    Sse.Prefetch0(w + c + Prefetch);
                    Sse.Prefetch0(w + RowBytes + c + Prefetch);
                    Sse.Prefetch0(w + 2 * RowBytes + c + Prefetch);
                    Sse.Prefetch0(w + 3 * RowBytes + c + Prefetch);
                }

                acc |= Vector512.Load(w + c) | Vector512.Load(w + RowBytes + c) | Vector512.Load(w + 2 * RowBytes + c) | Vector512.Load(w + 3 * RowBytes + c);
            }
        }

        Keep(acc);
    }

    /// <summary>
    /// One tile through the kernel: row-major rows (four consecutive, or in pair mode two of the
    /// tile's first half, the gate matrix, and the same two of its second half, the up matrix) or
    /// the four-row layout (in pair mode gate and up groups alternating).
    /// </summary>
    private static void Decode(Fp4Vnni512Kernel kernel, byte* q, byte* w, byte* s, bool quads, bool pair)
    {
        float* tile = stackalloc float[4 * TileGroups];
        long half = TileGroups / 2 * 4 * RowBytes, halfScales = TileGroups / 2 * 4 * ScaleRowBytes;
        long Code(int r) => quads ? r * 64 : pair && r > 1 ? half + (r - 2) * RowBytes : r * RowBytes;
        long Scale(int r) => quads ? r * 4 : pair && r > 1 ? halfScales + (r - 2) * ScaleRowBytes : r * ScaleRowBytes;
        var rows = new WeightRows4
        {
            R0 = w + Code(0), R1 = w + Code(1), R2 = w + Code(2), R3 = w + Code(3),
            S0 = s + Scale(0), S1 = s + Scale(1), S2 = s + Scale(2), S3 = s + Scale(3),
        };
        if (quads && pair)
        {
            kernel.Run(q, q, &rows, K, tile, TileGroups, half, halfScales, 4 * RowBytes - half, 4 * ScaleRowBytes - halfScales);
        }
        else
        {
            int step = pair ? 2 : 4;
            kernel.Run(q, q, &rows, K, tile, TileGroups, step * RowBytes, step * ScaleRowBytes);
        }

        Keep(Vector512.Create(tile[0]).AsByte());
    }

    /// <summary>Keeps a result alive so that the reads are not optimised away.</summary>
    private static void Keep(Vector512<byte> v)
    {
        if (v[0] == 0x5A && v[63] == 0xA5) { Interlocked.Increment(ref _sink); }
    }

    private static int _sink;
}
