using Accel.Graph;
using Accel.Moe;

namespace Accel.Cli.Bench;

/// <summary>What <c>accel bench</c> measures.</summary>
/// <param name="Device">Device id (<c>cpu</c>, <c>reference</c>, ...).</param>
/// <param name="Hidden">Hidden size D.</param>
/// <param name="ExpertWidth">Routed-expert intermediate size I.</param>
/// <param name="Experts">Routed experts E.</param>
/// <param name="TopK">Experts per token K.</param>
/// <param name="SharedExperts">Shared experts (the shared width is this times I).</param>
/// <param name="Groups">Expert groups G.</param>
/// <param name="TopKGroups">Groups kept per token.</param>
/// <param name="Tokens">Token counts to measure.</param>
/// <param name="Weights">Storage format of the expert weights.</param>
/// <param name="Threads">Threads of the CPU backend (0 = one per processor).</param>
/// <param name="Cold">Evict the caches before every timed run.</param>
/// <param name="Runs">Timed runs per token count.</param>
/// <param name="Warmup">Untimed runs per token count.</param>
/// <param name="PeakGflops">Compute peak of the roofline, GFLOP/s, as given; null to take it from the device's profile or measure it.</param>
/// <param name="BandwidthGbps">Memory bandwidth of the roofline, GB/s, as given; null to take it from the device's profile or measure it.</param>
/// <param name="Probe">How long the machine probe measures when it runs (null: <see cref="ProbeSettings.Default"/>).</param>
/// <param name="Preset">The layer family: DeepSeek-V3 routing, or the DeepSeek-V4-Flash layer, with the sizes above.</param>
/// <param name="Moments">
/// With cold caches on a host device: measure the read bandwidth of each run's eviction and hold
/// each run to it (<see cref="BenchEngine.MomentRatio"/>). Each eviction then waits
/// <see cref="BenchEngine.EvictionSettleMilliseconds"/> first, so that no idle worker still spins
/// or naps beside the read, and every run starts after that idle spell (its threads woken).
/// </param>
public sealed record BenchOptions(string Device, int Hidden, int ExpertWidth, int Experts, int TopK, int SharedExperts,
    int Groups, int TopKGroups, IReadOnlyList<int> Tokens, SyntheticFormat Weights, int Threads, bool Cold, int Runs,
    int Warmup, double? PeakGflops = null, double? BandwidthGbps = null, ProbeSettings? Probe = null,
    BenchPreset Preset = BenchPreset.Default, bool Moments = false)
{
    /// <summary>
    /// The layer. <see cref="BenchPreset.Default"/>: DeepSeek-V3 routing (sigmoid scores, selection
    /// bias, group-limited top-2-sum groups, renormalised weights, scale 2.5). <see cref="BenchPreset.V4Flash"/>:
    /// <see cref="MoePresets.DeepSeekV4Flash"/> (sqrt-softplus scores, scale 1.5, SwiGLU clamp 10,
    /// hash layers first). Either with the given sizes.
    /// </summary>
    public MoeConfig Config() => Preset == BenchPreset.V4Flash
        ? MoePresets.DeepSeekV4Flash with
        {
            Hidden = Hidden, Experts = Experts, TopK = TopK, ExpertWidth = ExpertWidth, SharedWidth = SharedExperts * ExpertWidth,
            Groups = Groups, TopGroups = TopKGroups,
        }
        : new()
        {
            Family = MoeFamily.DeepSeekV3, Hidden = Hidden, Experts = Experts, TopK = TopK, ExpertWidth = ExpertWidth,
            SharedWidth = SharedExperts * ExpertWidth, Score = ScoreFunc.Sigmoid, Groups = Groups, TopGroups = TopKGroups,
            Normalize = true, RouteScale = 2.5f, SelectionBias = true, Layers = 2, FirstDenseLayers = 0,
        };

    /// <summary>The layer index measured: the first routed layer that scores its experts (not a dense or hash layer).</summary>
    public int Layer => Preset == BenchPreset.V4Flash ? Math.Max(Config().HashLayers, Config().FirstDenseLayers) : BenchEngine.Layer;
}

/// <summary>A whole bench run: the roofline it was compared with and the figures per token count.</summary>
/// <param name="Roofline">The roofline used, with its sources.</param>
/// <param name="Results">One entry per token count, in the order asked for.</param>
/// <param name="Device">The device that ran, as the selector resolved it.</param>
public sealed record BenchRun(BenchRoofline Roofline, IReadOnlyList<BenchResult> Results, string Device = "");

/// <summary>The figures of one token count.</summary>
/// <param name="Tokens">Tokens per run.</param>
/// <param name="MedianMs">Median run time, ms.</param>
/// <param name="MinMs">Fastest run, ms.</param>
/// <param name="MaxMs">Slowest run, ms.</param>
/// <param name="TokensPerS">Tokens per second at the median.</param>
/// <param name="Gflops">GFLOP/s at the median.</param>
/// <param name="WeightGbps">Weight bytes read per second at the median, GB/s.</param>
/// <param name="RooflinePct">The roofline floor as a percentage of the median.</param>
/// <param name="Flops">Floating-point operations of one run.</param>
/// <param name="WeightBytes">Weight bytes one run reads (touched experts, shared expert, router, scales).</param>
/// <param name="PredictedMs">The roofline floor, ms.</param>
/// <param name="ExpertsTouched">Distinct routed experts the routing chose.</param>
/// <param name="MomentGbps">With cold caches on a host device and <see cref="BenchOptions.Moments"/>: the median read bandwidth of the evictions before the runs, GB/s (else null).</param>
/// <param name="MomentRatio">With it: the median over the runs of run time / roofline floor at the bandwidth read just before that run (<see cref="BenchEngine.MomentRatio"/>).</param>
public sealed record BenchResult(int Tokens, double MedianMs, double MinMs, double MaxMs, double TokensPerS, double Gflops,
    double WeightGbps, double RooflinePct, double Flops, double WeightBytes, double PredictedMs, int ExpertsTouched,
    double? MomentGbps = null, double? MomentRatio = null);
