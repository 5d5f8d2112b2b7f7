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
        var hidden = Int("--hidden", "Hidden size D.", 1024);
        var width = Int("--expert-width", "Routed-expert intermediate size I.", 512);
        var experts = Int("--experts", "Routed experts E.", 64);
        var topK = Int("--top-k", "Experts per token K.", 6);
        var shared = Int("--shared-experts", "Shared experts (shared width = this times I; 0 = none).", 2);
        var groups = Int("--groups", "Expert groups G.", 8);
        var topGroups = Int("--top-k-groups", "Groups kept per token.", 4);
        var tokens = new Option<string>("--tokens") { Description = "Comma-separated token counts.", DefaultValueFactory = _ => "1,16,128,1024" };
        var weights = new Option<string>("--weights") { Description = "Expert weight format: f32, bf16, fp8 or fp4.", DefaultValueFactory = _ => "f32" };
        var threads = Int("--threads", "Threads of the CPU backend (0 = one per processor).", 0);
        var cold = new Option<bool>("--cold") { Description = "Evict the caches before every timed run (the default)." };
        var hot = new Option<bool>("--hot") { Description = "Keep the caches warm between runs." };
        var runs = Int("--runs", "Timed runs per token count.", 10);
        var warmup = Int("--warmup", "Untimed runs per token count.", 2);
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
        foreach (Option o in new Option[] { device, hidden, width, experts, topK, shared, groups, topGroups, tokens, weights, threads, cold, hot, runs, warmup, json, peak, bandwidth })
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

            if (!TryTokens(parse.GetValue(tokens)!, out var counts) || !TryFormat(parse.GetValue(weights)!, out var format))
            {
                Console.Error.WriteLine("--tokens takes counts like 1,16,128,1024 and --weights one of f32, bf16, fp8, fp4.");
                return 2;
            }

            var options = new BenchOptions(parse.GetValue(device)!, parse.GetValue(hidden), parse.GetValue(width), parse.GetValue(experts),
                parse.GetValue(topK), parse.GetValue(shared), parse.GetValue(groups), parse.GetValue(topGroups), counts, format,
                parse.GetValue(threads), !parse.GetValue(hot), Math.Max(1, parse.GetValue(runs)), Math.Max(0, parse.GetValue(warmup)),
                parse.GetValue(peak), parse.GetValue(bandwidth));
            return Execute(options, parse.GetValue(json), context);
        }));
        return command;
    }

    private static Option<int> Int(string name, string description, int value) =>
        new(name) { Description = description, DefaultValueFactory = _ => value };

    /// <summary>Runs the benchmark, prints the table and writes the JSON file.</summary>
    public static int Execute(BenchOptions o, string? jsonPath, CliContext? context = null)
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = 160;
        }

        AnsiConsole.MarkupLine($"[bold]accel bench[/] device [cyan]{o.Device}[/], weights {o.Weights}, {(o.Cold ? "cold caches" : "hot caches")}, " +
            $"{o.Runs} runs after {o.Warmup} warm-up, threads {(o.Threads > 0 ? o.Threads : Environment.ProcessorCount)}");
        var run = BenchEngine.Run(o, line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"), context);
        AnsiConsole.MarkupLine($"roofline: {Markup.Escape(run.Roofline.ToString())}");
        var table = new Table().AddColumns("tokens", "median ms", "min-max ms", "tokens/s", "GFLOP/s", "weight GB/s", "experts", "roofline ms", "% roofline");
        foreach (var r in run.Results)
        {
            table.AddRow(r.Tokens.ToString(CultureInfo.InvariantCulture), F(r.MedianMs), $"{F(r.MinMs)}-{F(r.MaxMs)}", F(r.TokensPerS, "0"),
                F(r.Gflops, "0.0"), F(r.WeightGbps, "0.0"), r.ExpertsTouched.ToString(CultureInfo.InvariantCulture), F(r.PredictedMs), F(r.RooflinePct, "0"));
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
