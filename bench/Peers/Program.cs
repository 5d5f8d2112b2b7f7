using System.Globalization;
using Accel.Backends;
using Accel.Backends.Cpu;
using Accel.Backends.Reference;
using Accel.Cli.Bench;
using Accel.Cli.Commands;
using Accel.Moe;
using Accel.Types;

namespace Accel.Peers;

/// <summary>One engine under test: a name and a run that maps activations [T, D] to the layer output.</summary>
internal sealed record Engine(string Name, Func<float[], int, float[]> Run, IDisposable? Owner = null, string Note = "");

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
        var a = Args.Parse(args);
        var o = new BenchOptions("cpu", a.Int("--hidden", 1024), a.Int("--expert-width", 512), a.Int("--experts", 64), a.Int("--top-k", 6),
            a.Int("--shared-experts", 2), a.Int("--groups", 8), a.Int("--top-k-groups", 4),
            [.. a.Str("--tokens", "1,16,128,1024").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))],
            SyntheticFormat.F32, a.Int("--threads", 2), !a.Has("--hot"), a.Int("--runs", 5), a.Int("--warmup", 2));
        var nominal = BenchRoofline.Of(a.Dbl("--peak-gflops", NominalPeakGflops), a.Dbl("--bandwidth-gbps", NominalBandwidthGbps), "nominal");
        int rounds = a.Int("--rounds", 3);
        Log($"layer D={o.Hidden} I={o.ExpertWidth} E={o.Experts} K={o.TopK} shared={o.SharedExperts} G={o.Groups}/{o.TopKGroups}, " +
            $"threads {o.Threads}, {(o.Cold ? "cold" : "hot")} caches, {rounds} rounds x {o.Runs} runs");
        var weights = BenchEngine.Weights(o);
        var engines = new List<Engine> { Accel(o, weights, "accel-cpu-f32") };
        var skipped = new List<string>();
        foreach (string peer in a.Str("--peers", "ort,torch").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                engines.Add(peer switch
                {
                    "ort" => Wrap(new OrtPeer(o, weights, o.Threads), "onnxruntime"),
                    "torch" => Wrap(new TorchPeer(o, weights, o.Threads), "torchsharp"),
                    _ => throw new ArgumentException($"unknown peer '{peer}'"),
                });
            }
            catch (Exception e)
            {
                skipped.Add($"{peer}: {e.GetType().Name}: {e.Message}");
                Log($"peer {peer} could not be loaded: {e.Message}");
            }
        }

        foreach (string extra in a.Str("--extra", "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            BenchCommand.TryFormat(extra, out var format);
            Log($"building {format} weights");
            engines.Add(Accel(o with { Weights = format }, BenchEngine.Weights(o with { Weights = format }), $"accel-cpu-{extra}"));
        }

        var checks = Check(o, engines);
        Log("probing this machine: read bandwidth and fp32 FMA rate");
        var machine = MachineProbe.Measure(o.Threads);
        Log($"measured {machine.BandwidthGbps:0.0} GB/s, {machine.PeakGflops:0} GFLOP/s on {o.Threads} threads");
        var measured = BenchRoofline.Of(machine.PeakGflops, machine.BandwidthGbps, "measured in this run");
        using var evictor = o.Cold ? new CacheEvictor() : null;
        var rows = new List<Report.Row>();
        foreach (int t in o.Tokens)
        {
            var x = SyntheticCheckpoint.Activations(t, o.Hidden).AsSpan<float>().ToArray();
            var times = engines.ToDictionary(e => e.Name, _ => new List<double>());
            for (int r = 0; r < rounds; r++)
            {
                foreach (var e in engines)
                {
                    times[e.Name].AddRange(BenchEngine.Measure(() => e.Run(x, t), r == 0 ? o.Warmup : 0, o.Runs, evictor));
                }
            }

            int touched = Touched(o, weights, t);
            foreach (var e in engines)
            {
                var fmt = e.Name.EndsWith("bf16", StringComparison.Ordinal) ? SyntheticFormat.BF16
                    : e.Name.EndsWith("fp8", StringComparison.Ordinal) ? SyntheticFormat.Fp8 : SyntheticFormat.F32;
                rows.Add(new Report.Row(e.Name, BenchEngine.Result(o with { Weights = fmt }, nominal, t, [.. times[e.Name]], touched),
                    BenchEngine.Result(o, nominal, t, [.. times[e.Name]], touched).PredictedMs,
                    BenchEngine.Result(o, measured, t, [.. times[e.Name]], touched).PredictedMs));
            }

            Log($"{t} tokens: " + string.Join(", ", engines.Select(e => $"{e.Name} {Stats.Median(times[e.Name]):0.00} ms")));
        }

        Report.Print(o, nominal, machine, rows, checks, skipped);
        if (a.Has("--json")) { File.WriteAllText(a.Str("--json", ""), Report.Json(o, nominal, machine, rounds, rows, checks, skipped)); }
        if (a.Has("--plot")) { Report.Plot(o, nominal, machine, rows, a.Str("--plot", "")); }
        foreach (var e in engines) { e.Owner?.Dispose(); }
        return 0;
    }

    /// <summary>The cpu backend's options for a peer run: the thread count, then the ACCEL_CPU_* variables (as accel bench applies them).</summary>
    internal static CpuBackendOptions CpuOptions(BenchOptions o) =>
        new CpuBackendOptions(o.Threads).WithEnvironment(global::Accel.Selection.ProcessEnvironment.Instance);

    private static Engine Accel(BenchOptions o, Dictionary<string, HostTensor> weights, string name)
    {
        var cpu = new CpuBackend(CpuOptions(o));
        var reference = new ReferenceBackend();
        var layer = new MoeLayer(o.Config(), BenchEngine.Layer, weights, [cpu, reference]);
        var owner = new Owners(layer, cpu, reference);
        return new Engine(name, (x, t) => layer.Run(HostTensor.FromF32(new Shape(t, o.Hidden), x)).Output.AsSpan<float>().ToArray(), owner);
    }

    private static Engine Wrap(OrtPeer p, string name) => new(name, p.Run, p);

    private static Engine Wrap(TorchPeer p, string name) => new(name, p.Run, p);

    /// <summary>Every engine's output against Accel's f32 output (norm-wise relative error) at a few token counts.</summary>
    private static List<(string Engine, int Tokens, double Error)> Check(BenchOptions o, List<Engine> engines)
    {
        var result = new List<(string, int, double)>();
        foreach (int t in new[] { 1, 16, 128 })
        {
            var x = SyntheticCheckpoint.Activations(t, o.Hidden).AsSpan<float>().ToArray();
            var expected = engines[0].Run(x, t);
            foreach (var e in engines.Skip(1))
            {
                double err = RelativeError(e.Run(x, t), expected);
                result.Add((e.Name, t, err));
                Log($"check {e.Name} vs accel-cpu-f32 at {t} tokens: relative error {err:0.0e+0}");
            }
        }

        return result;
    }

    private static int Touched(BenchOptions o, Dictionary<string, HostTensor> weights, int tokens)
    {
        using var reference = new ReferenceBackend();
        using var cpu = new CpuBackend(CpuOptions(o));
        using var layer = new MoeLayer(o.Config(), BenchEngine.Layer, weights, [cpu, reference]);
        return layer.Run(SyntheticCheckpoint.Activations(tokens, o.Hidden)).TopkIds.ToI32().Distinct().Count();
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

/// <summary>A minimal <c>--name value</c> parser.</summary>
internal sealed class Args(Dictionary<string, string> values)
{
    public static Args Parse(string[] args)
    {
        var d = new Dictionary<string, string>();
        for (int i = 0; i < args.Length; i++)
        {
            bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
            d[args[i]] = hasValue ? args[++i] : "";
        }

        return new Args(d);
    }

    public bool Has(string name) => values.ContainsKey(name);

    public string Str(string name, string fallback) => values.TryGetValue(name, out var v) ? v : fallback;

    public int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public double Dbl(string name, double fallback) => values.TryGetValue(name, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
