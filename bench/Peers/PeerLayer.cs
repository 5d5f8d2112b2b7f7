using System.Globalization;
using Accel.Cli.Bench;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Peers;

/// <summary>
/// The layer a peer run measures: the bench layer (<see cref="BenchOptions.Config"/>, every engine)
/// or a named preset (<c>v4-flash</c>: DeepSeek-V4-Flash's full-size layer, fp4 only). Its weights
/// are generated once per storage format and shared by the engines that read that format.
/// </summary>
internal sealed class PeerLayer
{
    private readonly Dictionary<SyntheticFormat, Dictionary<string, HostTensor>> _weights = [];
    private readonly Func<SyntheticFormat, Dictionary<string, HostTensor>> _create;

    private PeerLayer(BenchOptions options, MoeConfig config, int index, string name, Func<SyntheticFormat, Dictionary<string, HostTensor>> create)
    {
        Options = options;
        Config = config;
        Index = index;
        Name = name;
        _create = create;
    }

    /// <summary>The bench options (sizes, threads, runs) the timing and the roofline use.</summary>
    public BenchOptions Options { get; }

    /// <summary>The layer's config.</summary>
    public MoeConfig Config { get; }

    /// <summary>The layer index (a scored, non-hash layer).</summary>
    public int Index { get; }

    /// <summary>The preset's name (empty for the bench layer).</summary>
    public string Name { get; }

    /// <summary>The peers run when <c>--peers</c> is not given.</summary>
    public string DefaultPeers => Name.Length == 0 ? "ort,torch,ggml" : "ggml";

    /// <summary>The ggml formats run when <c>--ggml-formats</c> is not given.</summary>
    public string DefaultGgmlFormats => Name.Length == 0 ? "f32,bf16,q8_0,mxfp4" : "mxfp4";

    /// <summary>The token counts the outputs are compared at.</summary>
    public IReadOnlyList<int> CheckTokens => Name.Length == 0 ? [1, 16, 128] : [1, 16];

    /// <summary>The bench layer with the sizes given on the command line (f32 base engine).</summary>
    public static PeerLayer Default(PeerArgs a)
    {
        var o = new BenchOptions("cpu", a.Hidden, a.ExpertWidth, a.Experts, a.TopK, a.SharedExperts, a.Groups, a.TopKGroups, a.Tokens,
            SyntheticFormat.F32, a.Threads, !a.Hot, a.Runs, a.Warmup);
        return new PeerLayer(o, o.Config(), BenchEngine.Layer, "", f => BenchEngine.Weights(o with { Weights = f }));
    }

    /// <summary>
    /// DeepSeek-V4-Flash's layer (<see cref="MoePresets.DeepSeekV4Flash"/>) at its first scored
    /// layer, fp4 routed experts and fp8 shared expert; refuses to start when the machine cannot
    /// hold the generated checkpoint, Accel's copy and ggml's copy at once.
    /// </summary>
    public static PeerLayer V4Flash(PeerArgs a)
    {
        var c = MoePresets.DeepSeekV4Flash;
        var o = new BenchOptions("cpu", c.Hidden, c.ExpertWidth, c.Experts, c.TopK, c.SharedWidth / c.ExpertWidth, 1, 1, a.Tokens,
            SyntheticFormat.Fp4, a.Threads, !a.Hot, a.Runs, a.Warmup);
        if (a.Extra is not null || (a.GgmlFormats ?? "mxfp4") != "mxfp4" || (a.Peers ?? "ggml") != "ggml")
        {
            throw new ArgumentException("--preset v4-flash runs accel-cpu-fp4 and ggml-mxfp4 only (f32 weights would need about 25 GB).");
        }

        double copy = 3.0 * c.Experts * c.ExpertWidth * c.Hidden * (0.5 + 1.0 / 32) + 3.0 * c.SharedWidth * c.Hidden;
        // Measured on a 24 GB machine: the process peaks near 16.5 GB (the generated checkpoint and
        // its stacked copy, the generator's garbage before it is collected, then ggml's copy and
        // one converted projection beside Accel's), about five copies.
        double need = 5 * copy;
        long available = AvailableBytes();
        if (available > 0 && available < need)
        {
            throw new InsufficientMemoryException(
                $"--preset v4-flash needs about {need / 1e9:0.0} GB of free memory (fp4 weights are {copy / 1e9:0.0} GB per copy: the generated checkpoint " +
                $"and its stacked copy, Accel's and ggml's); this machine has {available / 1e9:0.0} GB available.");
        }

        int layer = c.HashLayers; // the first scored (non-hash) layer
        return new PeerLayer(o, c, layer, "v4-flash", f =>
            MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(c, layer, f)), c, layer));
    }

    /// <summary>The weights in format <paramref name="format"/>, generated on first use.</summary>
    public Dictionary<string, HostTensor> Weights(SyntheticFormat format)
    {
        if (!_weights.TryGetValue(format, out var w))
        {
            if (Name.Length > 0 && format != SyntheticFormat.Fp4)
            {
                throw new ArgumentException($"--preset {Name} has fp4 weights only.");
            }

            Program.Log($"generating {format} weights");
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            w = _weights[format] = _create(format);
            // Return the generator's temporaries (large f32 rows, per-expert copies) before the
            // engines take their own copies, so a full-size layer's peak stays near two copies.
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            long live = GC.GetTotalMemory(forceFullCollection: true);
            Program.Log($"{format} weights ready in {System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds:0.0} s " +
                $"({live / 1e9:0.0} GB managed heap, {Environment.WorkingSet / 1e9:0.0} GB working set)");
        }

        return w;
    }

    /// <summary>Forgets the generated weights (the engines keep what they use).</summary>
    public void ReleaseWeights() => _weights.Clear();

    /// <summary>Refuses the f32-only peers (ONNX Runtime, TorchSharp) for a preset.</summary>
    public void RequireDefault(string peer)
    {
        if (Name.Length > 0)
        {
            throw new ArgumentException($"--preset {Name} runs the ggml peer only, not {peer}.");
        }
    }

    /// <summary>One line for the log and the report.</summary>
    public string Describe()
    {
        var c = Config;
        string s = string.Create(CultureInfo.InvariantCulture,
            $"D={c.Hidden} I={c.ExpertWidth} E={c.Experts} K={c.TopK} shared width={c.SharedWidth} G={c.Groups}/{c.TopGroups} score={c.Score} scale={c.RouteScale}");
        return Name.Length == 0 ? s : $"{Name} ({s}{(c.SwigluLimit is float l ? $" clamp={l}" : "")}, layer {Index})";
    }

    /// <summary>The engine-name suffix of a format (f32, bf16, fp8, fp4).</summary>
    public static string Suffix(SyntheticFormat f) => f switch
    {
        SyntheticFormat.BF16 => "bf16",
        SyntheticFormat.Fp8 => "fp8",
        SyntheticFormat.Fp4 => "fp4",
        _ => "f32",
    };

    /// <summary>The weight format an engine reads, from its name (ggml formats counted as their matched Accel format).</summary>
    public static SyntheticFormat FormatOf(string engine) =>
        engine.EndsWith("bf16", StringComparison.Ordinal) ? SyntheticFormat.BF16
        : engine.EndsWith("fp8", StringComparison.Ordinal) || engine.EndsWith("q8_0", StringComparison.Ordinal) ? SyntheticFormat.Fp8
        : engine.EndsWith("fp4", StringComparison.Ordinal) || engine.EndsWith("mxfp4", StringComparison.Ordinal) ? SyntheticFormat.Fp4
        : SyntheticFormat.F32;

    private static long AvailableBytes()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemAvailable:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
