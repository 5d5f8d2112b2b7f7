// accel-embedding-bench: the .NET side of bench/embedding.sh.
//
//   accel-embedding-bench write <dir> [fp8|bf16|f32] [preset]   layer 1 of the benchmark layer (or of a
//                                                              MoePresets name) as config.json + model.safetensors
//   accel-embedding-bench run <dir> [tokens] [runs] [threads]
//
// `run` opens layer 1 of the checkpoint on the cpu device exactly as libaccel.so does (the
// composition root, HfConfigReader, SafetensorsCheckpoint, MoeWeightLoader, CreateMoeLayer) and
// times MoeLayer runs called directly; it prints one line of key=value figures.
using System.Diagnostics;
using Accel.Composition;
using Accel.Graph;
using Accel.IO;
using Accel.Moe;
using Accel.Types;
using Microsoft.Extensions.DependencyInjection;

const int Layer = 1;

if (args.Length >= 2 && args[0] == "write")
{
    // The layer of docs/performance.md: hidden 1024, expert width 512, 64 experts, top-6, 8 groups / top-4, 2 shared.
    var config = args.Length > 3 ? MoePresets.All[args[3]] with { Layers = 2, FirstDenseLayers = 0 } : new MoeConfig
    {
        Family = MoeFamily.DeepSeekV3, Hidden = 1024, Experts = 64, TopK = 6, ExpertWidth = 512, SharedWidth = 1024,
        Score = ScoreFunc.Sigmoid, Groups = 8, TopGroups = 4, Normalize = true, RouteScale = 2.5f, SelectionBias = true,
        Layers = 2, FirstDenseLayers = 0,
    };
    var format = (args.Length > 2 ? args[2] : "fp8") switch
    {
        "f32" => SyntheticFormat.F32,
        "bf16" => SyntheticFormat.BF16,
        "fp8" => SyntheticFormat.Fp8,
        var other => throw new ArgumentException($"format '{other}': use fp8, bf16 or f32"),
    };
    Directory.CreateDirectory(args[1]);
    File.WriteAllText(Path.Combine(args[1], "config.json"), HfConfigWriter.ToJson(config));
    SafetensorsWriter.Write(Path.Combine(args[1], "model.safetensors"), SyntheticCheckpoint.Create(config, Layer, format));
    Console.WriteLine($"wrote {args[1]} ({format})");
    return 0;
}

if (args.Length < 2 || args[0] != "run")
{
    Console.Error.WriteLine("usage: accel-embedding-bench write <dir> [fp8|bf16|f32] [preset] | run <dir> [tokens] [runs] [threads]");
    return 2;
}

int tokens = args.Length > 2 ? int.Parse(args[2]) : 1;
int runs = args.Length > 3 ? int.Parse(args[3]) : 200;
int threads = args.Length > 4 ? int.Parse(args[4]) : 0;
var started = Process.GetCurrentProcess().StartTime;

using var services = AccelComposition.Create(configure: a => a.AddCpu(o => o with { Threads = threads }));
var moeConfig = HfConfigReader.ReadFile(Path.Combine(args[1], "config.json"));
Dictionary<string, HostTensor> weights;
using (var checkpoint = SafetensorsCheckpoint.Open(Path.Combine(args[1], "model.safetensors")))
{
    weights = MoeWeightLoader.Load(checkpoint, moeConfig, Layer);
}

using var layer = services.Runtime.CreateMoeLayer(moeConfig, Layer, weights, "cpu");
double startupMs = (DateTime.Now - started).TotalMilliseconds;

var x = HostTensor.FromF32(new Shape(tokens, moeConfig.Hidden),
    SyntheticCheckpoint.Activations(tokens, moeConfig.Hidden, seed: 12345).AsSpan<float>());
// Warm up for 2 s (at least 20 runs): tiered compilation promotes hot methods only after a delay.
var warm = Stopwatch.StartNew();
for (int i = 0; i < 20 || warm.Elapsed.TotalSeconds < 2; i++)
{
    layer.Run(x);
}

var times = new double[runs];
var clock = new Stopwatch();
for (int i = 0; i < runs; i++)
{
    clock.Restart();
    layer.Run(x);
    times[i] = clock.Elapsed.TotalMicroseconds;
}

Array.Sort(times);
Console.WriteLine($"path=dotnet tokens={tokens} runs={runs} startup_ms={startupMs:F0} median_us={times[runs / 2]:F1} " +
    $"p10_us={times[runs / 10]:F1} p90_us={times[runs * 9 / 10]:F1}");
return 0;
