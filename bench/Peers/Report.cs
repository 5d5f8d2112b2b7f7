using System.Globalization;
using System.Text.Json;
using Accel.Cli.Bench;
using ScottPlot;

namespace Accel.Peers;

/// <summary>The peer comparison: table, JSON and roofline plot.</summary>
internal static class Report
{
    /// <summary>
    /// One engine at one token count. <paramref name="F32FloorMs"/> is the roofline floor with f32
    /// weights at the nominal figures (--peak-gflops, --bandwidth-gbps); <paramref name="MachineFloorMs"/>
    /// the same floor at the figures <see cref="MachineProbe"/> measured in this run;
    /// <paramref name="OwnFloorMs"/> the floor of the engine's own weight bytes (those of its matched
    /// Accel format for ggml) at the probe's figures; <paramref name="AtMoment"/> its runs against the
    /// bandwidth measured just before each (null with hot caches).
    /// </summary>
    public sealed record Row(string Engine, BenchResult Result, double F32FloorMs, double MachineFloorMs, double OwnFloorMs, Moment? AtMoment);

    /// <summary>
    /// The read bandwidth of the evictions before an engine's runs (median, min, max; GB/s) and the
    /// median over its runs of run time / floor at that run's bandwidth (<see cref="BenchEngine.MomentRatio"/>).
    /// </summary>
    public sealed record Moment(double MedianGbps, double MinGbps, double MaxGbps, double Ratio);

    /// <summary>One output comparison: <paramref name="Engine"/> against <paramref name="Against"/> at <paramref name="Tokens"/> tokens.</summary>
    public sealed record Check(string Engine, string Against, int Tokens, double Error);

    /// <summary>A ggml engine and its matched Accel engine at one token count; Ratio = ggml / accel (above 1: Accel faster).</summary>
    /// <remarks>The minima are kept beside the medians: on a shared machine ggml's spinning barriers stall whenever
    /// another process holds a core, which shows in its medians far more than in its fastest runs.</remarks>
    public sealed record Pair(int Tokens, string Accel, string Ggml, double AccelMs, double GgmlMs, double AccelMinMs, double GgmlMinMs)
    {
        public double Ratio => GgmlMs / AccelMs;

        public double MinRatio => GgmlMinMs / AccelMinMs;
    }

    /// <summary>Every ggml engine with its matched Accel engine, per token count (only pairs whose both engines ran).</summary>
    public static List<Pair> Pairs(List<Row> rows) =>
        [.. rows.GroupBy(r => r.Result.Tokens).SelectMany(g => g
            .Select(r => (Ggml: r, Accel: g.FirstOrDefault(x => x.Engine == GgmlEngines.MatchedAccel(r.Engine))))
            .Where(p => p.Accel is not null)
            .Select(p => new Pair(g.Key, p.Accel!.Engine, p.Ggml.Engine, p.Accel.Result.MedianMs, p.Ggml.Result.MedianMs,
                p.Accel.Result.MinMs, p.Ggml.Result.MinMs)))];

    /// <summary>The cpu device as the peer run's options describe it (kernel families with the environment applied).</summary>
    private static global::Accel.Backends.DeviceDescriptor CpuDevice(BenchOptions o) => global::Accel.Backends.Cpu.CpuProvider.Describe(Program.CpuOptions(o));

    public static void Print(BenchOptions o, string layer, BenchRoofline nominal, MachineFigures m, List<Row> rows, List<Check> checks, List<string> skipped,
        List<(string Engine, string Note)> notes)
    {
        Console.WriteLine($"layer: {layer}");
        Console.WriteLine($"machine: {CpuDevice(o).Name}; {Environment.ProcessorCount} logical processors; " +
            $"threads {o.Threads}; {(o.Cold ? "cold" : "hot")} caches; {DateTime.UtcNow:yyyy-MM-dd}");
        Console.WriteLine($"accel cpu device: {CpuDevice(o).Note}");
        Console.WriteLine($"roofline: nominal {nominal.PeakGflops:0} GFLOP/s, {nominal.BandwidthGbps:0.0} GB/s; measured in this run {m.PeakGflops:0} GFLOP/s, {m.BandwidthGbps:0.0} GB/s");
        foreach (var (engine, note) in notes)
        {
            Console.WriteLine($"note: {engine}: {note}");
        }

        foreach (var c in checks)
        {
            Console.WriteLine($"check: {c.Engine} vs {c.Against} at T={c.Tokens}: norm-wise relative error {c.Error:0.0e+0}");
        }

        foreach (string s in skipped)
        {
            Console.WriteLine($"skipped peer: {s}");
        }

        Console.WriteLine();
        Console.WriteLine($"{"tokens",6} {"engine",-16} {"median ms",10} {"min-max ms",17} {"GFLOP/s",8} {"GB/s",7} {"x accel",8} {"f32 floor ms",13} {"/ floor",8} {"measured floor",15} {"/ measured",11}");
        foreach (var group in rows.GroupBy(r => r.Result.Tokens))
        {
            double accel = group.First().Result.MedianMs;
            foreach (var r in group)
            {
                var x = r.Result;
                Console.WriteLine($"{x.Tokens,6} {r.Engine,-16} {F(x.MedianMs),10} {F(x.MinMs) + "-" + F(x.MaxMs),17} {F(x.Gflops, "0.0"),8} " +
                    $"{F(x.WeightGbps, "0.0"),7} {F(x.MedianMs / accel),8} {F(r.F32FloorMs),13} {F(x.MedianMs / r.F32FloorMs),8} " +
                    $"{F(r.MachineFloorMs),15} {F(x.MedianMs / r.MachineFloorMs),11}");
            }
        }

        Console.WriteLine();
        Console.WriteLine("each engine against the floor of its own weight bytes: at the probe's bandwidth, and run by run at the bandwidth read just before the run");
        Console.WriteLine($"{"tokens",6} {"engine",-16} {"weight MB",10} {"median ms",10} {"probe floor",12} {"/ probe",8} {"moment GB/s",12} {"min-max",12} {"/ moment",9}");
        foreach (var r in rows)
        {
            var x = r.Result;
            var at = r.AtMoment;
            Console.WriteLine($"{x.Tokens,6} {r.Engine,-16} {F(x.WeightBytes / 1e6, "0.0"),10} {F(x.MedianMs),10} {F(r.OwnFloorMs),12} {F(x.MedianMs / r.OwnFloorMs),8} " +
                (at is null ? $"{"-",12} {"-",12} {"-",9}" : $"{F(at.MedianGbps, "0.0"),12} {F(at.MinGbps, "0") + "-" + F(at.MaxGbps, "0"),12} {F(at.Ratio),9}"));
        }

        var pairs = Pairs(rows);
        if (pairs.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("matched formats (ggml / accel above 1: Accel faster)");
            Console.WriteLine($"{"tokens",6} {"accel",-16} {"ggml",-12} {"accel ms",10} {"ggml ms",10} {"ggml/accel",11} {"faster",7} {"accel min",10} {"ggml min",10} {"min ratio",10}");
            foreach (var p in pairs)
            {
                Console.WriteLine($"{p.Tokens,6} {p.Accel,-16} {p.Ggml,-12} {F(p.AccelMs),10} {F(p.GgmlMs),10} {F(p.Ratio),11} {(p.Ratio > 1 ? "accel" : "ggml"),7} " +
                    $"{F(p.AccelMinMs),10} {F(p.GgmlMinMs),10} {F(p.MinRatio),10}");
            }
        }
    }

    public static string Json(BenchOptions o, string layer, BenchRoofline nominal, MachineFigures m, int rounds, List<Row> rows, List<Check> checks,
        List<string> skipped, List<(string Engine, string Note)> notes)
    {
        var doc = new Dictionary<string, object>
        {
            ["layer"] = layer,
            ["machine"] = CpuDevice(o).Name,
            ["accel_cpu_device"] = CpuDevice(o).Note,
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["threads"] = o.Threads,
            ["cold"] = o.Cold,
            ["rounds"] = rounds,
            ["runs_per_round"] = o.Runs,
            ["peak_gflops"] = nominal.PeakGflops,
            ["bandwidth_gbps"] = nominal.BandwidthGbps,
            ["measured_peak_gflops"] = m.PeakGflops,
            ["measured_bandwidth_gbps"] = m.BandwidthGbps,
            ["skipped"] = skipped,
            ["notes"] = notes.ToDictionary(n => n.Engine, n => n.Note),
            ["checks"] = checks.Select(c => new Dictionary<string, object>
            {
                ["engine"] = c.Engine, ["against"] = c.Against, ["tokens"] = c.Tokens, ["relative_error"] = c.Error,
            }).ToArray(),
            ["matched"] = Pairs(rows).Select(p => new Dictionary<string, object>
            {
                ["tokens"] = p.Tokens, ["accel_engine"] = p.Accel, ["ggml_engine"] = p.Ggml, ["accel_median_ms"] = p.AccelMs,
                ["ggml_median_ms"] = p.GgmlMs, ["ggml_over_accel"] = p.Ratio, ["accel_faster"] = p.Ratio > 1,
                ["accel_min_ms"] = p.AccelMinMs, ["ggml_min_ms"] = p.GgmlMinMs, ["ggml_over_accel_min"] = p.MinRatio,
            }).ToArray(),
            ["results"] = rows.Select(r => new Dictionary<string, object>
            {
                ["engine"] = r.Engine, ["tokens"] = r.Result.Tokens, ["median_ms"] = r.Result.MedianMs, ["min_ms"] = r.Result.MinMs,
                ["max_ms"] = r.Result.MaxMs, ["tokens_per_s"] = r.Result.TokensPerS, ["gflops"] = r.Result.Gflops,
                ["weight_gbps"] = r.Result.WeightGbps, ["roofline_pct"] = r.Result.RooflinePct, ["f32_floor_ms"] = r.F32FloorMs,
                ["measured_f32_floor_ms"] = r.MachineFloorMs,
                ["weight_bytes"] = r.Result.WeightBytes,
                ["measured_own_floor_ms"] = r.OwnFloorMs,
                ["moment"] = r.AtMoment is { } at ? new Dictionary<string, double>
                {
                    ["gbps_median"] = at.MedianGbps, ["gbps_min"] = at.MinGbps, ["gbps_max"] = at.MaxGbps, ["over_floor"] = at.Ratio,
                } : "not measured (hot caches)",
                ["experts_touched"] = r.Result.ExpertsTouched,
            }).ToArray(),
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Roofline plot: log10 arithmetic intensity (FLOP per weight byte) against log10 GFLOP/s.</summary>
    public static void Plot(BenchOptions o, BenchRoofline nominal, MachineFigures m, List<Row> rows, string path)
    {
        var plt = new Plot();
        Roof(plt, nominal.PeakGflops, nominal.BandwidthGbps, "nominal roofline", Colors.Black);
        Roof(plt, m.PeakGflops, m.BandwidthGbps, "measured in this run", Colors.Gray);
        var palette = new ScottPlot.Palettes.Category10();
        int n = 0;
        foreach (var group in rows.GroupBy(r => r.Engine))
        {
            var pts = group.Select(r => (X: Math.Log10(r.Result.Flops / r.Result.WeightBytes), Y: Math.Log10(r.Result.Gflops), r.Result.Tokens)).ToArray();
            var s = plt.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray());
            s.LegendText = group.Key;
            s.LineWidth = 0;
            s.MarkerSize = 9;
            s.Color = palette.GetColor(n++);
            foreach (var p in pts)
            {
                var label = plt.Add.Text($"T={p.Tokens}", p.X, p.Y);
                label.LabelFontSize = 10;
                label.LabelFontColor = s.Color;
            }
        }

        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = v => Math.Pow(10, v).ToString("G3", CultureInfo.InvariantCulture),
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
        };
        var yticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = v => Math.Pow(10, v).ToString("G3", CultureInfo.InvariantCulture),
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
        };
        plt.Axes.Bottom.TickGenerator = ticks;
        plt.Axes.Left.TickGenerator = yticks;
        plt.XLabel("arithmetic intensity (FLOP per byte of weights read)");
        plt.YLabel("GFLOP/s");
        plt.Title($"MoE layer D={o.Hidden} I={o.ExpertWidth} E={o.Experts} K={o.TopK}, {o.Threads} threads, {(o.Cold ? "cold" : "hot")} caches");
        plt.ShowLegend(Alignment.LowerRight);
        plt.SavePng(path, 1000, 650);
    }

    private static void Roof(Plot plt, double peak, double bandwidth, string name, Color color)
    {
        double[] xs = [0.1, peak / bandwidth, 1000];
        var roof = plt.Add.Scatter(xs.Select(Math.Log10).ToArray(), xs.Select(i => Math.Log10(Math.Min(peak, i * bandwidth))).ToArray());
        roof.LegendText = $"{name} ({peak:0} GFLOP/s, {bandwidth:0.0} GB/s)";
        roof.MarkerSize = 0;
        roof.LineWidth = 2;
        roof.Color = color;
    }

    private static string F(double v, string format = "0.00") => v.ToString(format, CultureInfo.InvariantCulture);
}
