using Accel.Backends.Reference;
using Accel.Errors;
using Accel.Graph;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Moe;

/// <summary>
/// The routed variant (<see cref="MoeLayerMode.Routed"/>): the experts alone, fed the routing of the
/// full layer, give the full layer's output, for every family and T = 0, 1, 37.
/// </summary>
public sealed class RoutedLayerTests
{
    private static readonly object[] Families =
    [
        new object[] { "deepseek-v3-tiny", 2, SyntheticFormat.F32 },
        new object[] { "deepseek-v4-tiny", 3, SyntheticFormat.Fp8 },
        new object[] { "deepseek-v4-tiny", 0, SyntheticFormat.Fp4 },
        new object[] { "mixtral-tiny", 0, SyntheticFormat.BF16 },
        new object[] { "qwen2-moe-tiny", 1, SyntheticFormat.F32 },
    ];

    private static IEnumerable<object[]> Cases() =>
        from object[] f in Families from int t in new[] { 0, 1, 37 } select new[] { f[0], f[1], f[2], t };

    /// <summary>The loaded weights of a synthetic checkpoint's layer.</summary>
    internal static Dictionary<string, HostTensor> Weights(MoeConfig config, int layer, SyntheticFormat format) =>
        MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(config, layer, format)), config, layer);

    [TestCaseSource(nameof(Cases))]
    public void Routed_experts_fed_the_full_layers_routing_give_its_output(string preset, int layer, SyntheticFormat format, int tokens)
    {
        var config = MoePresets.All[preset];
        var weights = Weights(config, layer, format);
        using var backend = new ReferenceBackend();
        using var full = new MoeLayer(config, layer, weights, [backend]);
        using var routed = new MoeLayer(config, layer, weights, [backend], mode: MoeLayerMode.Routed);
        var x = SyntheticCheckpoint.Activations(tokens, config.Hidden);
        var inputs = new Dictionary<string, HostTensor> { [MoeLayerBuilder.HiddenStates] = x };
        if (full.NeedsTokenIds)
        {
            inputs[MoeLayerBuilder.TokenIds] = SyntheticCheckpoint.TokenIds(tokens, config.Vocab);
        }

        // The graph's own routing, in its slot order: the experts sum their outputs in that order, so bitwise equal.
        var raw = full.Session.Run(inputs);
        var ids = raw[MoeLayerBuilder.TopkIdsValue(full.Graph)];
        var gates = raw[MoeLayerBuilder.TopkWeightsValue(full.Graph)];
        var expected = raw[MoeLayerBuilder.OutputValue(full.Graph)];
        var output = routed.RunRouted(x, ids, gates);
        Assert.That(output.Shape, Is.EqualTo(new Shape(tokens, config.Hidden)));
        Assert.That(output.ReadOnlyBytes.SequenceEqual(expected.ReadOnlyBytes), Is.True, "routed output differs from the full layer's");

        // The sorted routing MoeLayer.Run reports (rows in ascending expert order), as a caller would pass it back.
        var result = full.Run(x, inputs.GetValueOrDefault(MoeLayerBuilder.TokenIds));
        var again = routed.RunRouted(x, result.TopkIds, result.TopkWeights);
        Assert.That(Metrics.Nmse(again.ToF32(), result.Output.ToF32()), Is.LessThanOrEqualTo(1e-12));
    }

    [Test]
    public void The_routed_graph_takes_the_routing_as_inputs_and_keeps_the_shared_expert()
    {
        var config = MoePresets.Qwen2MoeTiny;
        var graph = MoeLayerBuilder.BuildRouted(config, Weights(config, 1, SyntheticFormat.F32));
        Assert.That(graph.Inputs.Select(v => $"{v.Name}:{v.Type.ShortName()}"),
            Is.EqualTo(new[] { "hidden_states:f32", "topk_ids:i32", "topk_weights:f32" }));
        var kinds = graph.Nodes.Select(n => n.Kind).ToList();
        Assert.That(kinds, Does.Not.Contain(OpKind.RouterGemm).And.Not.Contain(OpKind.TopK).And.Not.Contain(OpKind.RouteWeights));
        Assert.That(kinds, Does.Contain(OpKind.BuildPermutation).And.Contain(OpKind.GroupedGemm).And.Contain(OpKind.SharedExpert));
        Assert.That(graph.Weights.Select(w => w.Name), Does.Not.Contain(MoeWeightNames.Router));
        Assert.That(graph.Outputs.Length, Is.EqualTo(1));
    }

    [Test]
    public void Wider_id_and_narrower_weight_types_are_accepted()
    {
        var config = MoePresets.MixtralTiny;
        using var backend = new ReferenceBackend();
        using var routed = new MoeLayer(config, 0, Weights(config, 0, SyntheticFormat.F32), [backend], mode: MoeLayerMode.Routed);
        var x = SyntheticCheckpoint.Activations(2, config.Hidden);
        var i32 = HostTensor.FromI32(new Shape(2, 2), [1, 5, 0, 7]);
        var f32 = HostTensor.FromF32(new Shape(2, 2), [0.75f, 0.25f, 0.5f, 0.5f]); // exact in bf16
        var i64 = new HostTensor(DType.I64, new Shape(2, 2), [.. new long[] { 1, 5, 0, 7 }.SelectMany(BitConverter.GetBytes)]);
        var bf16 = new HostTensor(DType.BF16, new Shape(2, 2),
            [.. new[] { 0.75f, 0.25f, 0.5f, 0.5f }.SelectMany(v => BitConverter.GetBytes(NumericFormats.F32ToBF16(v)))]);
        var expected = routed.RunRouted(x, i32, f32);
        Assert.That(routed.RunRouted(x, i64, bf16).ReadOnlyBytes.SequenceEqual(expected.ReadOnlyBytes), Is.True);
    }
}

/// <summary>Bad routing given to a routed layer, and each mode's run method called on the other.</summary>
public sealed class RoutedLayerRejectionTests
{
    private static readonly MoeConfig Config = MoePresets.DeepSeekV3Tiny; // E = 16, K = 4
    private static ReferenceBackend _backend = null!;
    private static MoeLayer _routed = null!;
    private static MoeLayer _full = null!;

    [OneTimeSetUp]
    public static void Build()
    {
        _backend = new ReferenceBackend();
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(Config, 2, SyntheticFormat.F32)), Config, 2);
        _routed = new MoeLayer(Config, 2, weights, [_backend], mode: MoeLayerMode.Routed);
        _full = new MoeLayer(Config, 2, weights, [_backend]);
    }

    [OneTimeTearDown]
    public static void Free()
    {
        _routed.Dispose();
        _full.Dispose();
        _backend.Dispose();
    }

    private static HostTensor X(int tokens) => SyntheticCheckpoint.Activations(tokens, Config.Hidden);

    private static HostTensor Ids(int tokens, params int[] ids) => HostTensor.FromI32(new Shape(tokens, ids.Length / Math.Max(tokens, 1)), ids);

    private static HostTensor Gates(int tokens, params float[] w) => HostTensor.FromF32(new Shape(tokens, w.Length / Math.Max(tokens, 1)), w);

    private static readonly object[] BadRouting =
    [
        new object[] { "id 16 (= E)", new[] { 0, 1, 2, 16 }, new[] { .25f, .25f, .25f, .25f }, "topk_ids[0, 3] = 16 is outside 0..15" },
        new object[] { "id -1", new[] { -1, 1, 2, 3 }, new[] { .25f, .25f, .25f, .25f }, "topk_ids[0, 0] = -1 is outside 0..15" },
        new object[] { "a repeated id", new[] { 4, 1, 4, 3 }, new[] { .25f, .25f, .25f, .25f }, "row 0 names expert 4 twice" },
        new object[] { "a NaN weight", new[] { 0, 1, 2, 3 }, new[] { .25f, float.NaN, .25f, .25f }, "topk_weights[0, 1] is NaN" },
        new object[] { "an infinite weight", new[] { 0, 1, 2, 3 }, new[] { .25f, .25f, .25f, float.PositiveInfinity }, "topk_weights[0, 3] is Infinity" },
        new object[] { "K = 3 instead of 4", new[] { 0, 1, 2 }, new[] { .25f, .25f, .5f }, "topk_ids must be [1, 4]" },
    ];

    [TestCaseSource(nameof(BadRouting))]
    public void Bad_routing_is_refused_with_the_element_named(string what, int[] ids, float[] gates, string message)
    {
        _ = what;
        var e = Assert.Throws<InvalidInputException>(() => _routed.RunRouted(X(1), Ids(1, ids), Gates(1, gates)));
        Assert.That(e!.Message, Does.Contain(message));
    }

    [Test]
    public void Routing_rows_must_match_the_hidden_rows_and_types()
    {
        var e = Assert.Throws<InvalidInputException>(() => _routed.RunRouted(X(2), Ids(1, 0, 1, 2, 3), Gates(1, 1, 1, 1, 1)));
        Assert.That(e!.Message, Does.Contain("topk_ids must be [2, 4]").And.Contain("is [1, 4]"));
        e = Assert.Throws<InvalidInputException>(() => _routed.RunRouted(X(1), Gates(1, 0, 1, 2, 3), Gates(1, 1, 1, 1, 1)));
        Assert.That(e!.Message, Does.Contain("topk_ids must be i32 or i64 but is f32"));
        e = Assert.Throws<InvalidInputException>(() => _routed.RunRouted(X(1), Ids(1, 0, 1, 2, 3), Ids(1, 1, 1, 1, 1)));
        Assert.That(e!.Message, Does.Contain("topk_weights must be f32, bf16 or f16 but is i32"));
    }

    [Test]
    public void Each_mode_refuses_the_other_modes_run()
    {
        var e = Assert.Throws<InvalidInputException>(() => _routed.Run(X(1)));
        Assert.That(e!.Message, Does.Contain("Run needs a layer built in Full mode").And.Contain("call RunRouted"));
        e = Assert.Throws<InvalidInputException>(() => _full.RunRouted(X(1), Ids(1, 0, 1, 2, 3), Gates(1, 1, 1, 1, 1)));
        Assert.That(e!.Message, Does.Contain("RunRouted needs a layer built in Routed mode").And.Contain("MoeLayerMode.Routed"));
    }
}
