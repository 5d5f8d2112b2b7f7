using System.CommandLine;
using Accel.Errors;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Cli.Commands;

/// <summary>
/// <c>accel example</c>: writes a small checkpoint (config.json + model.safetensors) and an input
/// file for <c>accel moe</c>, from a preset, with seeded random weights in a chosen format.
/// </summary>
public static class ExampleCommand
{
    /// <summary>Creates the verb.</summary>
    public static Command Create()
    {
        var preset = new Option<string>("--preset") { Description = $"Layer shape: {string.Join(", ", MoePresets.All.Keys)}.", DefaultValueFactory = _ => "deepseek-v4-tiny" };
        var format = new Option<SyntheticFormat>("--format") { Description = "Expert weight format: F32, BF16, Fp8, Fp4.", DefaultValueFactory = _ => SyntheticFormat.Fp8 };
        var layer = new Option<int>("--layer") { Description = "Layer index to write.", DefaultValueFactory = _ => 3 };
        var tokens = new Option<int>("--tokens") { Description = "Rows of hidden_states in the input file.", DefaultValueFactory = _ => 5 };
        var dir = new Option<DirectoryInfo>("--dir") { Description = "Folder to write (created if missing).", Required = true };
        var seed = new Option<int>("--seed") { Description = "Seed of weights and inputs.", DefaultValueFactory = _ => 1234 };
        var command = new Command("example", "Write a small checkpoint and input file to try 'accel moe' on.")
        {
            preset, format, layer, tokens, dir, seed,
        };
        command.SetAction(r => CliErrors.Guard(() => Write(r.GetValue(preset)!, r.GetValue(format), r.GetValue(layer),
            r.GetValue(tokens), r.GetValue(dir)!, r.GetValue(seed))));
        return command;
    }

    private static int Write(string presetName, SyntheticFormat format, int layer, int tokens, DirectoryInfo dir, int seed)
    {
        if (!MoePresets.All.TryGetValue(presetName, out var config))
        {
            throw new InvalidInputException($"Unknown preset '{presetName}'; choose one of {string.Join(", ", MoePresets.All.Keys)}.");
        }

        if (tokens < 0)
        {
            throw new InvalidInputException($"--tokens must not be negative (is {tokens}).");
        }

        dir.Create();
        var tensors = SyntheticCheckpoint.Create(config, layer, format, seed);
        File.WriteAllText(Path.Combine(dir.FullName, "config.json"), HfConfigWriter.ToJson(config));
        SafetensorsWriter.Write(Path.Combine(dir.FullName, "model.safetensors"), tensors);
        var input = new Dictionary<string, HostTensor>
        {
            [MoeLayerBuilder.HiddenStates] = SyntheticCheckpoint.Activations(tokens, config.Hidden, seed + 1),
        };
        if (config.IsHashLayer(layer))
        {
            input[MoeLayerBuilder.TokenIds] = SyntheticCheckpoint.TokenIds(tokens, config.Vocab, seed + 2);
        }

        SafetensorsWriter.Write(Path.Combine(dir.FullName, "input.safetensors"), input);
        Console.WriteLine($"wrote {dir}/config.json, model.safetensors ({tensors.Count} tensors, {format}) and input.safetensors ({tokens} tokens, layer {layer})");
        return 0;
    }
}
