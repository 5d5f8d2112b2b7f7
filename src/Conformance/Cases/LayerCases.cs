using Accel.Graph;
using Accel.IO;
using Accel.Moe;
using Accel.Passes;
using Accel.Types;

namespace Accel.Conformance.Cases;

/// <summary>
/// Whole MoE layers of every family (MoePresets, SyntheticCheckpoint weights through the loader,
/// MoeLayerBuilder graphs): DeepSeek-V3, DeepSeek-V4 scored and hash layers, Mixtral, Qwen2-MoE.
/// </summary>
internal static class LayerCases
{
    /// <summary>Layer families and the preset and layer index each is tested with.</summary>
    public static readonly (string Family, string Preset, int Layer, string[] Types)[] Families =
    [
        ("deepseek-v3", "deepseek-v3-tiny", 2, ["f32", "bf16", Gen.Fp8]),
        ("deepseek-v4-scored", "deepseek-v4-tiny", 3, [Gen.Fp4, Gen.Fp8, "f32"]),
        ("deepseek-v4-hash", "deepseek-v4-tiny", 0, [Gen.Fp4, "bf16"]),
        ("mixtral", "mixtral-tiny", 0, ["f32", "bf16"]),
        ("qwen2-moe", "qwen2-moe-tiny", 1, ["f32", "bf16"]),
    ];

    /// <summary>The cases.</summary>
    public static IEnumerable<ConformanceCase> All()
    {
        foreach (var (family, preset, layer, types) in Families)
        {
            foreach (string type in types)
            {
                foreach (int t in RouterCases.Tokens)
                {
                    yield return Case(type, family, preset, layer, t, 1) with { Quick = t == 37 && type == types[0] };
                }
            }
        }

        yield return Case(Gen.Fp8, "deepseek-v3", "deepseek-v3-tiny", 2, 37, 16);
        yield return Case(Gen.Fp4, "deepseek-v4-scored", "deepseek-v4-mini", 3, 256, 16) with { Slow = true };
        yield return Case(Gen.Fp4, "deepseek-v4-hash", "deepseek-v4-mini", 1, 256, 1) with { Slow = true };
        yield return Case(Gen.Fp8, "deepseek-v3", "deepseek-v3-tiny", 2, 1021, 1) with { Slow = true };
        yield return Case("bf16", "mixtral", "mixtral-tiny", 0, 1024, 1) with { Slow = true };
    }

    private static ConformanceCase Case(string type, string family, string preset, int layer, int tokens, int align) =>
        new(ConformanceCase.LayerName, type, ("family", family), ("preset", preset), ("layer", layer), ("tokens", tokens), ("align", align));

    /// <summary>
    /// Builds the problem. Weights come from a seed of their own (the id plus "/weights") so
    /// regeneration only draws new activations (and token ids); <paramref name="rng"/> is the attempt's source.
    /// </summary>
    public static CaseProblem Build(ConformanceCase c, CaseRandom rng)
    {
        var config = MoePresets.All[c.Text("preset")];
        int layer = c.Int("layer"), tokens = c.Int("tokens"), align = c.Int("align");
        var format = c.Type switch
        {
            "f32" => SyntheticFormat.F32,
            "bf16" => SyntheticFormat.BF16,
            Gen.Fp8 => SyntheticFormat.Fp8,
            Gen.Fp4 => SyntheticFormat.Fp4,
            _ => throw new ArgumentException($"{c.Id}: no synthetic checkpoint format for '{c.Type}'.", nameof(c)),
        };
        int weightSeed = new CaseRandom(CaseRandom.SeedOf(c.Id + "/weights")).NextSeed(); // independent of the activations
        var tensors = SyntheticCheckpoint.Create(config, layer, format, weightSeed);
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, layer);
        var graph = MoeLayerBuilder.Build(config, layer, weights);
        if (align > 1)
        {
            graph = new SegmentAlignmentPass(align).Run(graph);
        }

        var inputs = new Dictionary<string, HostTensor>(StringComparer.Ordinal)
        {
            [MoeLayerBuilder.HiddenStates] = SyntheticCheckpoint.Activations(tokens, config.Hidden, rng.NextSeed()),
        };
        if (config.IsHashLayer(layer))
        {
            inputs[MoeLayerBuilder.TokenIds] = SyntheticCheckpoint.TokenIds(tokens, config.Vocab, rng.NextSeed());
        }

        string output = MoeLayerBuilder.OutputValue(graph), ids = MoeLayerBuilder.TopkIdsValue(graph);
        string routeWeights = MoeLayerBuilder.TopkWeightsValue(graph);
        double tolerance = format is SyntheticFormat.Fp8 or SyntheticFormat.Fp4 ? Tolerances.QuantizedGemm : Tolerances.Reduction;
        return new CaseProblem
        {
            Graph = graph,
            Weights = weights,
            Inputs = inputs,
            Checks =
            [
                new NmseCheck(output, tolerance, PerToken: true),
                new RoutingSetCheck(ids),
                new RoutingWeightsCheck(routeWeights, ids, Tolerances.Reduction),
            ],
            Margin = Margin(config, layer, graph),
        };
    }

    /// <summary>Scored layers select on the biased scores (before any group mask); hash layers route exactly.</summary>
    private static RoutingMargin? Margin(MoeConfig config, int layer, Graph.Graph graph)
    {
        if (config.IsHashLayer(layer))
        {
            return null;
        }

        bool biased = graph.Nodes.Any(n => n.Kind == OpKind.SelectionBias);
        var selecting = graph.Nodes.First(n => n.Kind is OpKind.GroupLimitMask or OpKind.TopK);
        string scores = graph.Values[selecting.Inputs[0]].Name;
        bool grouped = selecting.Kind == OpKind.GroupLimitMask;
        return new RoutingMargin(scores, config.TopK, grouped ? config.Groups : 1, grouped ? config.TopGroups : 1,
            config.GroupScoreFor(biased));
    }
}
