using System.CommandLine;
using System.Diagnostics;
using Accel.Backends;
using Accel.Backends.Reference;
using Accel.Errors;
using Accel.Execution;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Cli.Commands;

/// <summary>
/// <c>accel run</c>: the main job with no arguments. Builds a scaled-down DeepSeek-V4-style layer
/// with seeded random weights (FP4 routed experts, FP8 shared expert), runs it on the selected
/// device, checks it against the reference backend and prints device, shape, time and error.
/// </summary>
public static class RunCommand
{
    /// <summary>Norm-wise relative error above which the run fails.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>Creates the verb.</summary>
    public static Command Create(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var device = new Option<string?>("--device") { Description = DeviceHelp };
        var tokens = new Option<int>("--tokens") { Description = "Tokens in the batch.", DefaultValueFactory = _ => 16 };
        var layer = new Option<int>("--layer") { Description = "Layer index: below 3 is a hash layer (routes by token id).", DefaultValueFactory = _ => 3 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights and inputs.", DefaultValueFactory = _ => 1234 };
        var strict = new Option<bool>("--strict") { Description = StrictHelp };
        var explain = new Option<bool>("--explain") { Description = "Print where every node of the graph runs." };
        var command = new Command("run", "Run a scaled-down DeepSeek-V4 MoE layer on a device and check it against the reference.")
        {
            device, tokens, layer, seed, strict, explain,
        };
        command.SetAction(r => CliErrors.Guard(() => Run(context, r.GetValue(device), r.GetValue(tokens), r.GetValue(layer),
            r.GetValue(seed), CliContext.Flag(r, strict), r.GetValue(explain))));
        return command;
    }

    /// <summary>Help of <c>--device</c>, shared by the verbs that run a layer.</summary>
    internal const string DeviceHelp = "Device to run on (see 'accel devices'). Default: ACCEL_DEVICE, then Accel:Device in " +
        "appsettings.json (working directory or next to accel), then auto (the first usable device of Accel:FallbackChain).";

    /// <summary>Help of <c>--strict</c>, shared by the verbs that run a layer.</summary>
    internal const string StrictHelp = "Fail instead of falling back to another backend for an unsupported op. " +
        "Default: ACCEL_STRICT=1, then Accel:Strict in appsettings.json.";

    private static int Run(CliContext context, string? deviceArg, int tokens, int layer, int seed, bool? strictArg, bool explain)
    {
        if (tokens < 0)
        {
            throw new InvalidInputException($"--tokens must not be negative (is {tokens}).");
        }

        var config = MoePresets.DeepSeekV4Mini;
        var tensors = SyntheticCheckpoint.Create(config, layer, SyntheticFormat.Fp4, seed);
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, layer);
        var x = SyntheticCheckpoint.Activations(tokens, config.Hidden, seed + 1);
        var ids = config.IsHashLayer(layer) ? SyntheticCheckpoint.TokenIds(tokens, config.Vocab, seed + 2) : null;

        var clock = Stopwatch.StartNew();
        using var services = context.CreateServices();
        bool strict = services.Runtime.ResolveStrict(strictArg);
        using var onDevice = services.Runtime.CreateMoeLayer(config, layer, weights, deviceArg, strict);
        var selection = onDevice.Selection;
        var moe = onDevice.Layer;
        var primary = onDevice.Backends[0];
        double openMs = clock.Elapsed.TotalMilliseconds;
        Console.WriteLine($"device     {primary.Device.Id} ({primary.Device.Name})");
        Console.WriteLine($"selected   {selection.Source.ToString().ToLowerInvariant()}: {selection.Reason}");
        if (strict)
        {
            Console.WriteLine("strict     on: an op fallback is an error");
        }

        if (explain)
        {
            foreach (var p in moe.Session.Placements)
            {
                Console.WriteLine(p);
            }
        }

        clock.Restart();
        var first = moe.Run(x, ids);
        double firstMs = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        var result = moe.Run(x, ids);
        double steadyMs = clock.Elapsed.TotalMilliseconds;

        using var reference = new ReferenceBackend();
        using var oracle = new MoeLayer(config, layer, weights, [reference]);
        var expected = oracle.Run(x, ids);
        double error = Metrics.RelativeError(result.Output.ToF32(), expected.Output.ToF32());
        bool routingSame = result.TopkIds.ReadOnlyBytes.SequenceEqual(expected.TopkIds.ReadOnlyBytes);
        bool repeatable = first.Output.ReadOnlyBytes.SequenceEqual(result.Output.ReadOnlyBytes);

        Console.WriteLine($"layer      DeepSeek-V4 mini, layer {layer} ({(config.IsHashLayer(layer) ? "hash" : "scored")}): " +
            $"hidden {config.Hidden}, {config.Experts} experts of width {config.ExpertWidth}, top-{config.TopK}, 1 shared; FP4 experts, FP8 shared");
        Console.WriteLine($"tokens     {tokens}");
        if (primary is IKernelCacheStats cache)
        {
            Console.WriteLine($"kernels    {cache.KernelsBuilt} built, {cache.KernelsFromDiskCache} from disk cache");
        }

        Console.WriteLine($"time       open {openMs:F1} ms, first run {firstMs:F2} ms, second run {steadyMs:F2} ms");
        Console.WriteLine($"error      {error:E2} norm-wise relative to reference (tolerance {Tolerance:E0}); routing {(routingSame ? "identical" : "DIFFERENT")}; repeat runs {(repeatable ? "bitwise equal" : "DIFFER")}");
        int fallbacks = moe.Session.Placements.Count(p => p.IsFallback);
        if (fallbacks > 0)
        {
            Console.WriteLine($"fallback   {fallbacks} node(s) ran on another backend; see --explain");
        }

        bool ok = error <= Tolerance && routingSame;
        Console.WriteLine(ok ? "result     OK" : "result     FAIL");
        return ok ? 0 : CliErrors.UserError;
    }
}
