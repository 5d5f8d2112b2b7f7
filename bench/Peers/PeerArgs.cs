using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Accel.Peers;

/// <summary>
/// The options of <c>accel-peers</c>, parsed by System.CommandLine: an unknown option, a missing
/// value or a value of the wrong kind is refused with a message that names it. Each member is
/// the option of the same name (<c>--help</c> describes them); a null string is an option not given.
/// </summary>
internal sealed record PeerArgs(
    IReadOnlyList<int> Tokens, string Preset, int Rounds, int Runs, int Warmup, int Threads,
    int Hidden, int ExpertWidth, int Experts, int TopK, int SharedExperts, int Groups, int TopKGroups,
    string? Peers, string? Extra, string? GgmlFormats, bool GgmlRepack, int GgmlPoll, bool GgmlApart,
    double? PeakGflops, double? BandwidthGbps, string? Json, string? Plot, bool Hot, bool Moments)
{
    /// <summary>
    /// Parses <paramref name="args"/>; on a bad command line writes the reason to <paramref name="errors"/>,
    /// on <c>--help</c> the help to <paramref name="output"/>, and returns null with the exit code to end with.
    /// </summary>
    public static PeerArgs? Parse(string[] args, TextWriter output, TextWriter errors, out int exitCode)
    {
        var tokens = new Option<int[]>("--tokens")
        {
            Description = "Comma-separated token counts.",
            CustomParser = r => Counts(r, "1,16,128,1024"),
            DefaultValueFactory = r => Counts(r, "1,16,128,1024"),
        };
        var preset = new Option<string>("--preset") { Description = "The layer: default (the bench layer) or v4-flash (DeepSeek-V4-Flash's).", DefaultValueFactory = _ => "default" };
        preset.AcceptOnlyFromAmong("default", "v4-flash");
        var rounds = Whole("--rounds", "Rounds: every engine's runs once per round, engines alternating.", 3, 1);
        var runs = Whole("--runs", "Timed runs per engine per round.", 5, 1);
        var warmup = Whole("--warmup", "Untimed runs per engine before the first round.", 2, 0);
        var threads = Whole("--threads", "Threads of every engine.", 2, 1);
        var hidden = Whole("--hidden", "Hidden size D (bench layer).", 1024, 1);
        var width = Whole("--expert-width", "Routed-expert intermediate size I (bench layer).", 512, 1);
        var experts = Whole("--experts", "Routed experts E (bench layer).", 64, 1);
        var topK = Whole("--top-k", "Experts per token K (bench layer).", 6, 1);
        var shared = Whole("--shared-experts", "Shared experts (bench layer).", 2, 1);
        var groups = Whole("--groups", "Expert groups G (bench layer).", 8, 1);
        var topGroups = Whole("--top-k-groups", "Groups kept per token (bench layer).", 4, 1);
        var peers = new Option<string?>("--peers") { Description = "Comma-separated peers: ort, torch, ggml (default: all three; ggml for v4-flash)." };
        var extra = new Option<string?>("--extra") { Description = "Further Accel weight formats to time: bf16, fp8, fp4." };
        var ggmlFormats = new Option<string?>("--ggml-formats") { Description = "ggml weight types: f32, bf16, q8_0, mxfp4 (default: all four; mxfp4 for v4-flash)." };
        var repack = new Option<string>("--ggml-repack") { Description = "Let ggml repack its weights for this processor: on or off.", DefaultValueFactory = _ => "on" };
        repack.AcceptOnlyFromAmong("on", "off");
        var poll = Whole("--ggml-poll", "ggml's thread-pool polling level (0: sleep between graphs).", 0, 0);
        var apart = new Option<string>("--ggml-apart")
        {
            Description = "Keep ggml's workers off the caller's processor, as Accel's cpu backend keeps its own (Linux): on or off.",
            DefaultValueFactory = _ => "on",
        };
        apart.AcceptOnlyFromAmong("on", "off");
        var peak = Positive("--peak-gflops", "Nominal compute peak of the second roofline, GFLOP/s.");
        var bandwidth = Positive("--bandwidth-gbps", "Nominal memory bandwidth of the second roofline, GB/s.");
        var json = new Option<string?>("--json") { Description = "Write the results to this JSON file." };
        var plot = new Option<string?>("--plot") { Description = "Draw the roofline plot to this PNG file." };
        var hot = new Option<bool>("--hot") { Description = "Keep the caches warm between runs (default: evicted before every run)." };
        var moments = new Option<bool>("--moments") { Description = "Measure the read bandwidth of every eviction and hold each run to it." };
        var root = new RootCommand("Times Accel's CPU backend against ONNX Runtime, TorchSharp and ggml on the same MoE layer.");
        foreach (Option o in new Option[] { tokens, preset, rounds, runs, warmup, threads, hidden, width, experts, topK, shared, groups, topGroups, peers, extra, ggmlFormats, repack, poll, apart, peak, bandwidth, json, plot, hot, moments })
        {
            root.Options.Add(o);
        }

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors)
            {
                errors.WriteLine(e.Message);
            }

            errors.WriteLine("Run with --help for the options.");
            exitCode = 2;
            return null;
        }

        if (parse.Action is HelpAction)
        {
            exitCode = parse.Invoke(new InvocationConfiguration { Output = output });
            return null;
        }

        exitCode = 0;
        return new PeerArgs([.. parse.GetValue(tokens)!], parse.GetValue(preset)!, parse.GetValue(rounds), parse.GetValue(runs), parse.GetValue(warmup),
            parse.GetValue(threads), parse.GetValue(hidden), parse.GetValue(width), parse.GetValue(experts), parse.GetValue(topK), parse.GetValue(shared),
            parse.GetValue(groups), parse.GetValue(topGroups), parse.GetValue(peers), parse.GetValue(extra), parse.GetValue(ggmlFormats),
            parse.GetValue(repack) == "on", parse.GetValue(poll), parse.GetValue(apart) == "on", parse.GetValue(peak), parse.GetValue(bandwidth), parse.GetValue(json),
            parse.GetValue(plot), parse.GetValue(hot), parse.GetValue(moments));
    }

    private static Option<int> Whole(string name, string description, int value, int min) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => value,
        CustomParser = r =>
        {
            string text = r.Tokens.Count == 1 ? r.Tokens[0].Value : "";
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min)
            {
                return n;
            }

            r.AddError($"{name} takes a whole number of at least {min}; '{text}' is not one.");
            return value;
        },
    };

    private static Option<double?> Positive(string name, string description)
    {
        var o = new Option<double?>(name) { Description = description };
        o.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double?>() is { } d && !(double.IsFinite(d) && d > 0))
            {
                r.AddError($"{name} takes a positive finite number; '{d.ToString(CultureInfo.InvariantCulture)}' is not one.");
            }
        });
        return o;
    }

    /// <summary>The token counts of <c>--tokens</c> (<paramref name="fallback"/> when absent), each a whole number of at least 1.</summary>
    private static int[] Counts(ArgumentResult r, string fallback)
    {
        string text = r.Tokens.Count == 1 ? r.Tokens[0].Value : r.Tokens.Count == 0 ? fallback : "";
        var counts = new List<int>();
        foreach (string item in text.Split(','))
        {
            if (!int.TryParse(item.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) || n < 1)
            {
                r.AddError($"--tokens takes comma-separated whole numbers of at least 1, like 1,16,128; '{text}' is not that.");
                return [];
            }

            counts.Add(n);
        }

        return [.. counts];
    }
}
