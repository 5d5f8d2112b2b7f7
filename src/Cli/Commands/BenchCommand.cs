using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Accel.Cli.Bench;
using Accel.Selection;
using Accel.Moe;
using Spectre.Console;

namespace Accel.Cli.Commands;

/// <summary>
/// <c>accel bench</c>: times a MoE layer of any shape on any device and compares it with a roofline:
/// the figures given on the command line, else the device's hardware profile, else this machine's
/// bandwidth and FMA rate measured at start (<see cref="RooflineResolver"/>).
/// </summary>
public static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(CliContext context)
    {
        var device = new Option<string>("--device")
        {
            Description = "Device (see 'accel devices'), e.g. cpu or reference. Default: ACCEL_DEVICE, then Accel:Device, then auto " +
                "(on a machine without a GPU: cpu).",
            DefaultValueFactory = _ => DeviceSelector.Auto,
        };
        var preset = new Option<string>("--preset")
        {
            Description = "Layer: 'default' (DeepSeek-V3 routing, D 1024, I 512, 64 experts, top-6, 2 shared, 8 groups keep 4, " +
                "tokens 1,16,128,1024, f32) or 'v4-flash' (DeepSeek-V4-Flash at its first scored layer: D 4096, I 2048, 256 experts, top-6, " +
                "1 shared, tokens 1,16,128, fp4). The size, token and weight flags override the preset's.",
            DefaultValueFactory = _ => "default",
        };
        var hidden = Size("--hidden", "Hidden size D.");
        var width = Size("--expert-width", "Routed-expert intermediate size I.");
        var experts = Size("--experts", "Routed experts E.");
        var topK = Size("--top-k", "Experts per token K.");
        var shared = Size("--shared-experts", "Shared experts (shared width = this times I; 0 = none).");
        var groups = Size("--groups", "Expert groups G.");
        var topGroups = Size("--top-k-groups", "Groups kept per token.");
        var tokens = new Option<string?>("--tokens") { Description = "Comma-separated token counts (default: the preset's)." };
        var weights = new Option<string?>("--weights") { Description = "Expert weight format: f32, bf16, fp8 or fp4 (default: the preset's)." };
        var threads = Int("--threads", "Threads of the CPU backend (0 = one per processor).", 0);
        var cold = new Option<bool>("--cold") { Description = "Evict the caches before every timed run (the default)." };
        var hot = new Option<bool>("--hot") { Description = "Keep the caches warm between runs." };
        var moments = new Option<bool>("--moments")
        {
            Description = "Measure the read bandwidth of each cold run's eviction and hold the run to it (runs then start after a 30 ms idle spell).",
        };
        var runs = Int("--runs", "Timed runs per token count.", 10);
        var warmup = Int("--warmup", "Untimed runs per token count, at least (more follow until 1 s of them has passed; 0: none).", 2);
        var json = new Option<string?>("--json") { Description = "Write the results to this JSON file." };
        var peak = new Option<double?>(RooflineResolver.PeakFlag)
        {
            Description = "Roofline compute peak, GFLOP/s (default: the device's hardware profile, else measured on this machine at start).",
        };
        var bandwidth = new Option<double?>(RooflineResolver.BandwidthFlag)
        {
            Description = "Roofline memory bandwidth, GB/s (default: the device's hardware profile, else measured on this machine at start).",
        };
        var command = new Command("bench", "Time a MoE layer on a device and compare it with the roofline.");
        foreach (Option o in new Option[] { device, preset, hidden, width, experts, topK, shared, groups, topGroups, tokens, weights, threads, cold, hot, moments, runs, warmup, json, peak, bandwidth })
        {
            command.Options.Add(o);
        }

        command.SetAction(parse => CliErrors.Guard(() =>
        {
            if (parse.GetValue(cold) && parse.GetValue(hot))
            {
                Console.Error.WriteLine("Give either --cold or --hot, not both.");
                return 2;
            }

            var p = BenchPresets.Parse(parse.GetValue(preset)!);
            var d = BenchPresets.Defaults(p);
            var counts = d.Tokens;
            var format = d.Weights;
            if ((parse.GetValue(tokens) is { } t && !TryTokens(t, out counts)) || (parse.GetValue(weights) is { } w && !TryFormat(w, out format)))
            {
                Console.Error.WriteLine("--tokens takes counts like 1,16,128,1024 and --weights one of f32, bf16, fp8, fp4.");
                return 2;
            }

            var options = new BenchOptions(parse.GetValue(device)!, parse.GetValue(hidden) ?? d.Hidden, parse.GetValue(width) ?? d.ExpertWidth,
                parse.GetValue(experts) ?? d.Experts, parse.GetValue(topK) ?? d.TopK, parse.GetValue(shared) ?? d.SharedExperts,
                parse.GetValue(groups) ?? d.Groups, parse.GetValue(topGroups) ?? d.TopKGroups, counts, format,
                parse.GetValue(threads), !parse.GetValue(hot), Math.Max(1, parse.GetValue(runs)), Math.Max(0, parse.GetValue(warmup)),
                parse.GetValue(peak), parse.GetValue(bandwidth), Preset: p, Moments: parse.GetValue(moments));
            return Execute(options, parse.GetValue(json), context);
        }));
        return command;
    }

    private static Option<int> Int(string name, string description, int value) =>
        new(name) { Description = description, DefaultValueFactory = _ => value };

    private static Option<int?> Size(string name, string description) =>
        new(name) { Description = description + " Default: the preset's." };

    /// <summary>Runs the benchmark, prints the table and writes the JSON file.</summary>
    public static int Execute(BenchOptions o, string? jsonPath, CliContext? context = null)
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 160;
        }

        AnsiConsole.MarkupLine($"[bold]accel bench[/] device [cyan]{o.Device}[/], preset {BenchPresets.Name(o.Preset)}, weights {o.Weights}, {(o.Cold ? "cold caches" : "hot caches")}, " +
            $"{o.Runs} runs after {o.Warmup} warm-up, threads {(o.Threads > 0 ? o.Threads : Environment.ProcessorCount)}");
        var run = BenchEngine.Run(o, line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"), context);
        AnsiConsole.MarkupLine($"roofline: {Markup.Escape(run.Roofline.ToString())}");
        var table = new Table().AddColumns("tokens", "median ms", "min-max ms", "tokens/s", "GFLOP/s", "weight MB", "weight GB/s", "experts",
            "roofline ms", "% roofline", "moment GB/s", "x moment floor");
        foreach (var r in run.Results)
        {
            table.AddRow(r.Tokens.ToString(CultureInfo.InvariantCulture), F(r.MedianMs), $"{F(r.MinMs)}-{F(r.MaxMs)}", F(r.TokensPerS, "0"),
                F(r.Gflops, "0.0"), F(r.WeightBytes / 1e6, "0.0"), F(r.WeightGbps, "0.0"), r.ExpertsTouched.ToString(CultureInfo.InvariantCulture), F(r.PredictedMs), F(r.RooflinePct, "0"),
                r.MomentGbps is { } g ? F(g, "0.0") : "-", r.MomentRatio is { } m ? F(m) : "-");
        }

        AnsiConsole.Write(table);
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, ToJson(o with { Device = run.Device }, run));
            AnsiConsole.MarkupLine($"wrote {Markup.Escape(jsonPath)}");
        }

        return 0;
    }

    /// <summary>The JSON document: <c>{"results":[{"tokens":..,"median_ms":..,...}]}</c> plus the settings and the roofline with its sources.</summary>
    public static string ToJson(BenchOptions o, BenchRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var doc = new Dictionary<string, object>
        {
            ["device"] = o.Device,
            ["preset"] = BenchPresets.Name(o.Preset),
            ["layer"] = o.Layer,
            ["weights"] = o.Weights.ToString().ToLowerInvariant(),
            ["threads"] = o.Threads > 0 ? o.Threads : Environment.ProcessorCount,
            ["cold"] = o.Cold,
            ["peak_gflops"] = run.Roofline.PeakGflops,
            ["peak_source"] = run.Roofline.Peak.Source,
            ["bandwidth_gbps"] = run.Roofline.BandwidthGbps,
            ["bandwidth_source"] = run.Roofline.Bandwidth.Source,
            ["results"] = run.Results.Select(r => new Dictionary<string, object>
            {
                ["tokens"] = r.Tokens, ["median_ms"] = r.MedianMs, ["min_ms"] = r.MinMs, ["max_ms"] = r.MaxMs,
                ["tokens_per_s"] = r.TokensPerS, ["gflops"] = r.Gflops, ["weight_gbps"] = r.WeightGbps,
                ["roofline_pct"] = r.RooflinePct, ["predicted_ms"] = r.PredictedMs, ["experts_touched"] = r.ExpertsTouched,
                ["weight_bytes"] = r.WeightBytes,
                ["moment_gbps"] = r.MomentGbps is { } g ? g : "not measured",
                ["over_moment_floor"] = r.MomentRatio is { } m ? m : "not measured",
            }).ToArray(),
        };
        if (run.Roofline.Note is { } note)
        {
            doc["roofline_note"] = note;
        }

        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Parses <c>1,16,128</c>.</summary>
    public static bool TryTokens(string text, out IReadOnlyList<int> counts)
    {
        var list = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int t))
            {
                counts = [];
                return false;
            }

            list.Add(t);
        }

        counts = list;
        return list.Count > 0;
    }

    /// <summary>Parses a weight format name.</summary>
    public static bool TryFormat(string text, out SyntheticFormat format)
    {
        format = text.ToLowerInvariant() switch
        {
            "f32" or "fp32" => SyntheticFormat.F32,
            "bf16" => SyntheticFormat.BF16,
            "fp8" or "f8e4m3" => SyntheticFormat.Fp8,
            "fp4" or "f4e2m1" => SyntheticFormat.Fp4,
            _ => (SyntheticFormat)(-1),
        };
        return Enum.IsDefined(format);
    }

    private static string F(double v, string format = "0.00") => v.ToString(format, CultureInfo.InvariantCulture);
}
