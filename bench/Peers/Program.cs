using Accel.Backends;
using Accel.Backends.Cpu;
using Accel.Backends.Reference;
using Accel.Cli.Bench;
using Accel.Cli.Commands;
using Accel.Moe;
using Accel.Types;

namespace Accel.Peers;

/// <summary>One engine under test: a name and a run that maps activations [T, D] to the layer output.</summary>
internal sealed record Engine(string Name, EngineRun Run, IDisposable? Owner = null, string Note = "");

/// <summary>One run of an engine on <paramref name="x"/> [tokens, D]; the output may live in a buffer the engine reuses on its next run.</summary>
internal delegate ReadOnlySpan<float> EngineRun(float[] x, int tokens);

/// <summary>
/// An engine's output array per token count, reused by every run: a new large array per run would
/// cost a garbage collection and fresh pages every few runs, inside the timed region.
/// </summary>
internal sealed class OutputBuffers(int hidden)
{
    private readonly Dictionary<int, float[]> _byTokens = [];

    /// <summary>The [tokens, hidden] array for this token count.</summary>
    public float[] For(int tokens) =>
        _byTokens.TryGetValue(tokens, out var a) ? a : _byTokens[tokens] = new float[tokens * hidden];
}

/// <summary>
/// Runs the same MoE layer (same seeded weights) in Accel's CPU backend, ONNX Runtime and
/// TorchSharp in one process: checks that the outputs agree, then times the engines alternately,
/// round after round, per token count, and prints the ratios and the floors.
/// </summary>
internal static class Program
{
    /// <summary>
    /// The nominal compute peak the floors are also computed with (fp32, 2 threads): the figure the
    /// project's targets state for its 2-vCPU development machine, fixed so runs of different days compare.
    /// </summary>
    private const double NominalPeakGflops = 300;

    /// <summary>The nominal memory bandwidth, GB/s, of the same targets.</summary>
    private const double NominalBandwidthGbps = 22;

    private static int Main(string[] args)
    {
        try
        {
            var a = PeerArgs.Parse(args, Console.Out, Console.Error, out int exitCode);
            return a is null ? exitCode : Run(a);
        }
        catch (Exception e) when (e is ArgumentException or InsufficientMemoryException)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }
    }

    private static int Run(PeerArgs a)
    {
        var layer = a.Preset == "v4-flash" ? PeerLayer.V4Flash(a) : PeerLayer.Default(a);
        var o = layer.Options;
        var nominal = BenchRoofline.Of(a.PeakGflops ?? NominalPeakGflops, a.BandwidthGbps ?? NominalBandwidthGbps, "nominal");
        int rounds = a.Rounds;
        Log($"layer {layer.Describe()}, threads {o.Threads}, {(o.Cold ? "cold" : "hot")} caches, {rounds} rounds x {o.Runs} runs");
        var (baseEngine, baseLayer) = Accel(o, layer, layer.Weights(o.Weights), $"accel-cpu-{PeerLayer.Suffix(o.Weights)}");
        var engines = new List<Engine> { baseEngine };
        var skipped = new List<string>();
        var extras = (a.Extra ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (string peer in (a.Peers ?? layer.DefaultPeers).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                if (peer == "ggml")
                {
                    var formats = GgmlEngines.Parse(a.GgmlFormats ?? layer.DefaultGgmlFormats);
                    engines.AddRange(GgmlEngines.Create(layer.Config, new GgmlSettings(o.Threads, a.GgmlRepack, a.GgmlPoll, a.GgmlApart), formats, layer.Weights, skipped));
                    extras.AddRange(formats.Select(f => f.AccelName).Where(f => !extras.Contains(f)));
                    continue;
                }

                layer.RequireDefault(peer);
                engines.Add(peer switch
                {
                    "ort" => Wrap(new OrtPeer(o, layer.Weights(SyntheticFormat.F32), o.Threads), "onnxruntime"),
                    "torch" => Wrap(new TorchPeer(o, layer.Weights(SyntheticFormat.F32), o.Threads), "torchsharp"),
                    _ => throw new ArgumentException($"unknown peer '{peer}'"),
                });
            }
            catch (Exception e)
            {
                skipped.Add($"{peer}: {e.GetType().Name}: {e.Message}");
                Log($"peer {peer} could not be loaded: {e.Message}");
            }
        }

        foreach (string extra in extras.Where(x => engines.All(e => e.Name != $"accel-cpu-{x}")).Distinct())
        {
            BenchCommand.TryFormat(extra, out var format);
            Log($"building {format} weights for accel-cpu-{extra}");
            engines.Add(Accel(o with { Weights = format }, layer, layer.Weights(format), $"accel-cpu-{extra}").Engine);
        }

        layer.ReleaseWeights();
        var checks = Check(o, engines, layer.CheckTokens);
        Log("probing this machine: read bandwidth and fp32 FMA rate");
        var machine = MachineProbe.Measure(o.Threads);
        Log($"measured {machine.BandwidthGbps:0.0} GB/s, {machine.PeakGflops:0} GFLOP/s on {o.Threads} threads");
        using var evictor = o.Cold ? new CacheEvictor(o.Threads) : null;
        var timed = new List<(int Tokens, int Touched, Dictionary<string, List<double>> Times, Dictionary<string, List<double>?> Moments)>();
        foreach (int t in o.Tokens)
        {
            var x = SyntheticCheckpoint.Activations(t, o.Hidden).AsSpan<float>().ToArray();
            var times = engines.ToDictionary(e => e.Name, _ => new List<double>());
            var moments = engines.ToDictionary(e => e.Name, _ => a.Moments ? new List<double>() : null);
            for (int r = 0; r < rounds; r++)
            {
                foreach (var e in engines)
                {
                    times[e.Name].AddRange(BenchEngine.Measure(() => e.Run(x, t), r == 0 ? o.Warmup : 0, o.Runs, evictor, moments[e.Name]));
                }
            }

            int touched = baseLayer.Run(SyntheticCheckpoint.Activations(t, o.Hidden)).TopkIds.ToI32().Distinct().Count();
            timed.Add((t, touched, times, moments));
            Log($"{t} tokens: " + string.Join(", ", engines.Select(e => $"{e.Name} {Stats.Median(times[e.Name]):0.00} ms")));
        }

        // The machine's bandwidth moves from minute to minute: probed again after the runs, the
        // measured roofline is the better of the two probes, so one slow moment cannot put it
        // below what the runs themselves reached.
        var after = MachineProbe.Measure(o.Threads);
        Log($"probed again: {after.BandwidthGbps:0.0} GB/s, {after.PeakGflops:0} GFLOP/s");
        machine = machine with
        {
            BandwidthGbps = Math.Max(machine.BandwidthGbps, after.BandwidthGbps),
            PeakGflops = Math.Max(machine.PeakGflops, after.PeakGflops),
        };
        var measured = BenchRoofline.Of(machine.PeakGflops, machine.BandwidthGbps, "measured in this run");
        var rows = new List<Report.Row>();
        foreach (var (t, touched, times, moments) in timed)
        {
            foreach (var e in engines)
            {
                double[] ms = [.. times[e.Name]];
                var own = BenchEngine.Result(o with { Weights = PeerLayer.FormatOf(e.Name) }, nominal, t, ms, touched);
                double f32Bytes = BenchEngine.WeightBytes(o with { Weights = SyntheticFormat.F32 }, touched);
                rows.Add(new Report.Row(e.Name, own, nominal.PredictedMs(own.Flops, f32Bytes), measured.PredictedMs(own.Flops, f32Bytes),
                    measured.PredictedMs(own.Flops, own.WeightBytes), Moments(moments[e.Name], ms, own, machine.PeakGflops)));
            }
        }

        var notes = engines.Where(e => e.Note.Length > 0).Select(e => (e.Name, e.Note)).ToList();
        Report.Print(o, layer.Describe(), nominal, machine, rows, checks, skipped, notes);
        if (a.Json is { } json) { File.WriteAllText(json, Report.Json(o, layer.Describe(), nominal, machine, rounds, rows, checks, skipped, notes)); }
        if (a.Plot is { } plot) { Report.Plot(o, nominal, machine, rows, plot); }
        foreach (var e in engines) { e.Owner?.Dispose(); }
        return 0;
    }

    /// <summary>The cpu backend's options for a peer run: the thread count, then the ACCEL_CPU_* variables (as accel bench applies them).</summary>
    internal static CpuBackendOptions CpuOptions(BenchOptions o) =>
        new CpuBackendOptions(o.Threads).WithEnvironment(global::Accel.Selection.ProcessEnvironment.Instance);

    private static (Engine Engine, MoeLayer Layer) Accel(BenchOptions o, PeerLayer spec, Dictionary<string, HostTensor> weights, string name)
    {
        var cpu = new CpuBackend(CpuOptions(o));
        var reference = new ReferenceBackend();
        var layer = new MoeLayer(spec.Config, spec.Index, weights, [cpu, reference]);
        var owner = new Owners(layer, cpu, reference);
        // Per token count, one input tensor and one result that every run reuses (as ggml reuses its
        // graph's tensors), so no run allocates large arrays.
        var kept = new Dictionary<int, (HostTensor X, MoeResult Result)>();
        return (new Engine(name, (x, t) =>
        {
            if (!kept.TryGetValue(t, out var k))
            {
                k = kept[t] = (HostTensor.Zeros(DType.F32, new Shape(t, o.Hidden)), layer.NewResult(t));
            }

            x.CopyTo(k.X.AsSpan<float>());
            layer.Run(k.X, k.Result);
            return k.Result.Output.AsSpan<float>();
        }, owner), layer);
    }

    /// <summary>The engine's runs against the bandwidth of their own moments (null when caches were not evicted, so nothing was measured).</summary>
    private static Report.Moment? Moments(List<double>? gbps, double[] ms, BenchResult own, double peakGflops) =>
        gbps is not { Count: > 0 } ? null : new Report.Moment(Stats.Median(gbps), gbps.Min(), gbps.Max(),
            BenchEngine.MomentRatio(ms, gbps, own.Flops, own.WeightBytes, peakGflops));

    private static Engine Wrap(OrtPeer p, string name) => new(name, (x, t) => p.Run(x, t), p);

    private static Engine Wrap(TorchPeer p, string name) => new(name, (x, t) => p.Run(x, t), p);

    /// <summary>
    /// Every engine's output against the first engine's (Accel in the base format), and each ggml
    /// engine's also against the Accel engine of its matched format, at a few token counts.
    /// </summary>
    private static List<Report.Check> Check(BenchOptions o, List<Engine> engines, IReadOnlyList<int> tokens)
    {
        var result = new List<Report.Check>();
        foreach (int t in tokens)
        {
            var x = SyntheticCheckpoint.Activations(t, o.Hidden).AsSpan<float>().ToArray();
            var outputs = engines.ToDictionary(e => e.Name, e => e.Run(x, t).ToArray());
            foreach (var e in engines)
            {
                var against = new[] { engines[0].Name, GgmlEngines.MatchedAccel(e.Name) }.Distinct()
                    .Where(n => n is not null && n != e.Name && outputs.ContainsKey(n)).ToArray();
                foreach (string reference in against!)
                {
                    double err = RelativeError(outputs[e.Name], outputs[reference]);
                    result.Add(new Report.Check(e.Name, reference, t, err));
                    Log($"check {e.Name} vs {reference} at {t} tokens: relative error {err:0.0e+0}");
                }
            }
        }

        return result;
    }

    /// <summary>Norm-wise relative error (<see cref="Metrics.RelativeError"/>); infinite when the lengths differ.</summary>
    private static double RelativeError(float[] a, float[] b) =>
        a.Length != b.Length ? double.PositiveInfinity : Metrics.RelativeError(a, b);

    public static void Log(string line) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");

    private sealed class Owners(params IDisposable[] items) : IDisposable
    {
        public void Dispose() { foreach (var i in items) { i.Dispose(); } }
    }
}
