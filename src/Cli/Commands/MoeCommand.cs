using System.CommandLine;
using Accel.Backends;
using Accel.Errors;
using Accel.Execution;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Cli.Commands;

/// <summary><c>accel moe</c>: runs one layer's MoE block of a checkpoint on a safetensors input.</summary>
public static class MoeCommand
{
    /// <summary>Creates the verb.</summary>
    public static Command Create(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = new Option<FileInfo>("--config") { Description = "Hugging Face config.json of the model.", Required = true };
        var weights = new Option<string>("--weights") { Description = "Checkpoint: a .safetensors file, a folder of shards, or its index.json.", Required = true };
        var input = new Option<FileInfo>("--input") { Description = "Safetensors file with hidden_states [T, D] (f32, bf16 or f16) and, for hash layers, token_ids [T] (i32 or i64).", Required = true };
        var output = new Option<FileInfo>("--output") { Description = "Safetensors file to write: output [T, D] f32, topk_ids [T, K] i32 (rows ascending), topk_weights [T, K] f32.", Required = true };
        var layer = new Option<int?>("--layer") { Description = "Layer index (default: the first MoE layer)." };
        var device = new Option<string?>("--device") { Description = RunCommand.DeviceHelp };
        var strict = new Option<bool>("--strict") { Description = RunCommand.StrictHelp };
        var explain = new Option<bool>("--explain") { Description = "Print the chosen device and why, and where every node of the graph runs." };
        var command = new Command("moe", "Run the MoE block (the mlp of one layer, without norm or residual) of a checkpoint.")
        {
            config, weights, input, output, layer, device, strict, explain,
        };
        // An asynchronous action gets System.CommandLine's token, which Ctrl-C and SIGTERM cancel. The
        // work runs on the thread pool so the action returns its task at once and the signal handlers
        // are in place for the whole run.
        command.SetAction((r, cancellationToken) => Task.Run(() => CliErrors.Guard(() => Run(context, r.GetValue(config)!,
            r.GetValue(weights)!, r.GetValue(input)!, r.GetValue(output)!, r.GetValue(layer), r.GetValue(device),
            CliContext.Flag(r, strict), r.GetValue(explain), cancellationToken))));
        return command;
    }

    private static int Run(CliContext context, FileInfo configFile, string weightsPath, FileInfo inputFile, FileInfo outputFile,
        int? layerArg, string? deviceArg, bool? strictArg, bool explain, CancellationToken cancellationToken)
    {
        using var services = context.CreateServices();
        var selection = services.Runtime.Select(deviceArg);
        bool strict = services.Runtime.ResolveStrict(strictArg);
        using var checkpoint = SafetensorsCheckpoint.Open(weightsPath);
        CheckOutputPath(outputFile, [configFile.FullName, inputFile.FullName, .. checkpoint.Files.Select(f => f.Path), weightsPath]);
        var cfg = HfConfigReader.ReadFile(configFile.FullName);
        int layer = layerArg ?? cfg.FirstDenseLayers;
        using var inputs = SafetensorsFile.Open(inputFile.FullName);
        var hidden = inputs.Contains(MoeLayerBuilder.HiddenStates)
            ? inputs.Read(MoeLayerBuilder.HiddenStates)
            : throw new InvalidInputException($"'{inputFile.Name}' has no tensor 'hidden_states' [T, {cfg.Hidden}]; it holds: {string.Join(", ", inputs.Names)}.");
        HostTensor? tokenIds = inputs.Contains(MoeLayerBuilder.TokenIds) ? inputs.Read(MoeLayerBuilder.TokenIds) : null;

        cancellationToken.ThrowIfCancellationRequested();
        var loaded = MoeWeightLoader.Load(checkpoint, cfg, layer);
        cancellationToken.ThrowIfCancellationRequested();
        using var chain = services.Runtime.OpenChain(selection);
        using var moe = new MoeLayer(cfg, layer, loaded, chain.Backends, new SessionOptions(Strict: strict));
        if (explain)
        {
            Console.WriteLine($"device     {selection.DeviceId} ({selection.Device.Name})");
            Console.WriteLine($"selected   {selection.Source.ToString().ToLowerInvariant()}: {selection.Reason}");
            Console.WriteLine($"strict     {(strict ? "on" : "off")}");
            foreach (var p in moe.Session.Placements)
            {
                Console.WriteLine(p);
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var result = moe.Run(hidden, tokenIds);

        // The writer writes a temporary file next to the output and moves it into place only when
        // complete and not cancelled; on cancellation or any error it deletes the temporary file, so
        // an existing output is either replaced whole or left as it was.
        cancellationToken.ThrowIfCancellationRequested();
        SafetensorsWriter.Write(outputFile.FullName, new Dictionary<string, HostTensor>
        {
            ["output"] = result.Output,
            ["topk_ids"] = result.TopkIds,
            ["topk_weights"] = result.TopkWeights,
        }, cancellationToken: cancellationToken);

        Console.WriteLine($"layer {layer} ({cfg.Family}) on {chain.Primary.Device.Id}: {hidden.Shape[0]} tokens -> {outputFile.Name}");
        return 0;
    }

    /// <summary>Refuses an output path that is one of the inputs or whose folder does not exist.</summary>
    internal static void CheckOutputPath(FileInfo output, IEnumerable<string> inputs)
    {
        string full = Path.GetFullPath(output.FullName);
        foreach (string i in inputs)
        {
            if (string.Equals(Path.GetFullPath(i).TrimEnd(Path.DirectorySeparatorChar), full, StringComparison.Ordinal))
            {
                throw new InvalidInputException($"The output '{output}' is also an input; choose another output path so no input is overwritten.");
            }
        }

        if (Directory.Exists(full))
        {
            throw new InvalidInputException($"The output '{output}' is a folder; give a file path such as '{Path.Combine(output.ToString(), "out.safetensors")}'.");
        }

        if (!Directory.Exists(Path.GetDirectoryName(full)))
        {
            throw new InvalidInputException($"The folder of the output '{output}' does not exist; create it first.");
        }
    }
}
