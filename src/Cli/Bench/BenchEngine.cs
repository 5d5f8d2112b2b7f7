using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics;
using Accel.Backends;
using Accel.Backends.Cpu;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Cli.Bench;

/// <summary>
/// Measures one MoE layer on one device for several token counts: seeded synthetic weights in the
/// chosen format, warm-up runs, then timed runs (caches evicted before each when cold, outside
/// the timed region); reports the median and range and compares them with a roofline.
/// </summary>
public static class BenchEngine
{
    /// <summary>The layer index of the default preset (a routed, non-hash layer); <see cref="BenchOptions.Layer"/> gives it per preset.</summary>
    public const int Layer = 1;

    /// <summary>The layer's weights, loaded as a checkpoint would be (stored format kept).</summary>
    public static Dictionary<string, HostTensor> Weights(BenchOptions o, int seed = 1234)
    {
        ArgumentNullException.ThrowIfNull(o);
        var config = o.Config();
        var tensors = SyntheticCheckpoint.Create(config, o.Layer, o.Weights, seed);
        return MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, o.Layer);
    }

    /// <summary>
    /// Runs the benchmark; <paramref name="log"/> receives progress lines. The roofline is chosen
    /// once the device is open (<see cref="RooflineResolver.Resolve"/>), before any layer runs. Devices come from
    /// <paramref name="context"/>'s composition root (the process's when null).
    /// </summary>
    public static BenchRun Run(BenchOptions o, Action<string>? log = null, CliContext? context = null)
    {
        var config = MoeConfigValidator.Validate(o.Config(), "the bench flags");
        RooflineResolver.CheckGiven(o);
        BenchMemory.Check(o, BenchMemory.AvailableBytes());
        log?.Invoke($"building {o.Weights} weights for the {BenchPresets.Name(o.Preset)} layer {o.Layer}: D={o.Hidden} I={o.ExpertWidth} E={o.Experts} K={o.TopK} " +
            $"shared={o.SharedExperts} ({BenchMemory.StoredBytes(o) / 1e9:0.000} GB stored)");
        long building = Stopwatch.GetTimestamp();
        var weights = Weights(o);
        log?.Invoke($"weights generated and loaded in {Stopwatch.GetElapsedTime(building).TotalSeconds:0.0} s");
        // The synthetic checkpoint is garbage now: return its memory to the system before the
        // device takes its copy (an aggressive collection also decommits the freed regions).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        using var services = (context ?? CliContext.FromProcess()).CreateServices(a =>
        {
            if (o.Threads > 0)
            {
                a.AddCpu(c => c with { Threads = o.Threads });
            }
        });
        var registry = services.Registry;
        var selection = services.Runtime.Select(o.Device);
        o = o with { Device = selection.DeviceId };
        log?.Invoke($"selected {selection}");
        using var device = registry.Open(selection.Device);
        log?.Invoke($"device: {device.Device.Name}; {device.Device.Note}");
        var roofline = RooflineResolver.Resolve(o, device, log);
        using var reference = device.Device.Rank == AutoRank.Reference || registry.Reference is not { } r ? null : registry.Open(r);
        IReadOnlyList<IBackend> chain = reference is null ? [device] : [device, reference];
        using var layer = new MoeLayer(config, o.Layer, weights, chain);
        var fallbacks = layer.Session.Placements.Where(p => p.IsFallback).Select(p => p.Node.Name).ToArray();
        if (fallbacks.Length > 0)
        {
            log?.Invoke($"nodes falling back to the reference backend: {string.Join(", ", fallbacks)}");
        }

        using var evictor = o.Cold ? new CacheEvictor(RooflineResolver.ProbeThreads(device)) : null;
        bool host = device.Device.Kind is DeviceKind.Cpu or DeviceKind.Emulated;
        var results = new List<BenchResult>();
        foreach (int tokens in o.Tokens)
        {
            var x = SyntheticCheckpoint.Activations(tokens, o.Hidden);
            // One result for every run of this token count, as a serving loop would keep it.
            var result = layer.NewResult(tokens);
            var moments = host && o.Moments ? new List<double>() : null;
            var times = Measure(() => layer.Run(x, result), o.Warmup, o.Runs, evictor, moments);
            int touched = result.TopkIds.ToI32().Distinct().Count();
            var figures = Result(o, roofline, tokens, times, touched, WeightTraffic.Bytes(weights, config, touched));
            if (moments is { Count: > 0 })
            {
                // The host's memory is what the evictions measure; it is the floor of host devices only.
                figures = figures with
                {
                    MomentGbps = Stats.Median(moments),
                    MomentRatio = MomentRatio(times, moments, figures.Flops, figures.WeightBytes, roofline.PeakGflops),
                };
            }

            results.Add(figures);
            log?.Invoke($"{tokens} tokens: median {Stats.Median(times):0.###} ms");
        }

        return new BenchRun(roofline, results, o.Device);
    }

    /// <summary>Seconds of warm-up runs <see cref="Measure"/> does at least (when any warm-up is asked for).</summary>
    public const double WarmupSeconds = 1.0;

    /// <summary>How long <see cref="Measure"/> waits after a run before it evicts the caches for the next (longer than the cpu backend's default nap).</summary>
    public const int EvictionSettleMilliseconds = 30;

    /// <summary>The most warm-up runs <see cref="Measure"/> does to fill <see cref="WarmupSeconds"/>.</summary>
    public const int WarmupRunsMax = 200;

    /// <summary>
    /// Times <paramref name="run"/>: <paramref name="warmup"/> warm-up runs (continued up to
    /// <see cref="WarmupSeconds"/>), then timed runs, evicting before each when asked. With an
    /// evictor, <paramref name="moments"/> (when given) receives the read bandwidth of each run's
    /// eviction, in GB/s, in the order of the returned times; each eviction then starts
    /// <see cref="EvictionSettleMilliseconds"/> after the run before it, so no idle worker slows its
    /// read (without, it follows the run at once, as a layer follows the layer before it).
    /// </summary>
    public static double[] Measure(Action run, int warmup, int runs, CacheEvictor? evictor, List<double>? moments = null)
    {
        // At least the asked warm-up runs, and then more until WarmupSeconds have passed (at most
        // WarmupRunsMax in all), so that the runtime's tiered compilation has replaced the first,
        // quickly compiled code of the layer before anything is timed.
        long warmStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < warmup || (warmup > 0 && i < WarmupRunsMax && Stopwatch.GetElapsedTime(warmStart).TotalSeconds < WarmupSeconds); i++)
        {
            run();
        }

        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            if (evictor is not null)
            {
                if (moments is not null)
                {
                    // Quiet first: idle workers of the last run may still spin or nap (the cpu
                    // backend's nap for IdleNapMilliseconds, 20 by default) and would slow the
                    // eviction's read, and with it the bandwidth measured for this run.
                    Thread.Sleep(EvictionSettleMilliseconds);
                }

                evictor.Evict();
                moments?.Add(evictor.LastGbps);
            }

            long start = Stopwatch.GetTimestamp();
            run();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        return times;
    }

    /// <summary>Floating-point operations of the layer for <paramref name="tokens"/> tokens (router, routed and shared experts).</summary>
    public static double Flops(BenchOptions o, int tokens)
    {
        ArgumentNullException.ThrowIfNull(o);
        var c = o.Config();
        double d = c.Hidden, i = c.ExpertWidth, shared = c.SharedWidth;
        return 2.0 * tokens * (c.Experts * d + c.TopK * 3 * d * i + 3 * d * shared);
    }

    /// <summary>
    /// Bytes of weights a run reads, from the stored sizes of the tensors <paramref name="o"/> makes
    /// (<see cref="WeightTraffic"/>): the touched experts, the shared expert and the router, scales included.
    /// </summary>
    public static double WeightBytes(BenchOptions o, int touched)
    {
        ArgumentNullException.ThrowIfNull(o);
        return WeightTraffic.Bytes(o.Config(), o.Layer, o.Weights, touched);
    }

    /// <summary>The figures of one token count from its run times, against <paramref name="roofline"/>, with the bytes of <see cref="WeightBytes"/>.</summary>
    public static BenchResult Result(BenchOptions o, BenchRoofline roofline, int tokens, double[] times, int touched) =>
        Result(o, roofline, tokens, times, touched, WeightBytes(o, touched));

    /// <summary>The figures of one token count from its run times and the weight bytes it read, against <paramref name="roofline"/>.</summary>
    public static BenchResult Result(BenchOptions o, BenchRoofline roofline, int tokens, double[] times, int touched, double bytes)
    {
        ArgumentNullException.ThrowIfNull(roofline);
        ArgumentNullException.ThrowIfNull(times);
        double median = Stats.Median(times);
        double flops = Flops(o, tokens);
        double predicted = roofline.PredictedMs(flops, bytes);
        return new BenchResult(tokens, median, times.Min(), times.Max(), tokens / (median / 1e3), flops / (median * 1e6),
            bytes / (median * 1e6), 100 * predicted / median, flops, bytes, predicted, touched);
    }

    /// <summary>
    /// Each run held to the floor of its own moment, the median of the ratios: run time over
    /// max(<paramref name="flops"/> / <paramref name="peakGflops"/>, <paramref name="bytes"/> / the read
    /// bandwidth measured just before that run). On a machine whose bandwidth moves from minute to
    /// minute this pairs every run with what the memory gave at that time, where a floor from one
    /// probe at start holds every run to that one moment.
    /// </summary>
    /// <param name="timesMs">Run times, ms.</param>
    /// <param name="gbps">Read bandwidth before each run, GB/s (<see cref="Measure"/>'s moments), as many as the times.</param>
    /// <param name="flops">Floating-point operations of one run.</param>
    /// <param name="bytes">Bytes one run reads.</param>
    /// <param name="peakGflops">The fp32 peak, GFLOP/s.</param>
    /// <exception cref="ArgumentException">The counts differ, or there are none, or a bandwidth is not positive.</exception>
    public static double MomentRatio(IReadOnlyList<double> timesMs, IReadOnlyList<double> gbps, double flops, double bytes, double peakGflops)
    {
        ArgumentNullException.ThrowIfNull(timesMs);
        ArgumentNullException.ThrowIfNull(gbps);
        if (timesMs.Count == 0 || timesMs.Count != gbps.Count)
        {
            throw new ArgumentException($"Give one bandwidth per run time: {timesMs.Count} times, {gbps.Count} bandwidths.", nameof(gbps));
        }

        var ratios = new double[timesMs.Count];
        for (int i = 0; i < ratios.Length; i++)
        {
            if (!(gbps[i] > 0))
            {
                throw new ArgumentException($"Bandwidth {i} is {gbps[i]} GB/s; every measured bandwidth must be positive.", nameof(gbps));
            }

            ratios[i] = timesMs[i] / BenchRoofline.Of(peakGflops, gbps[i], "the eviction before the run").PredictedMs(flops, bytes);
        }

        return Stats.Median(ratios);
    }
}

/// <summary>Order statistics of run times.</summary>
public static class Stats
{
    /// <summary>The median (mean of the two middle values for an even count).</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        var s = values.Order().ToArray();
        if (s.Length == 0)
        {
            return double.NaN;
        }

        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
