using Accel.Backends.Reference;
using Accel.Errors;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Moe;

/// <summary>
/// Runs into the caller's tensors (<see cref="MoeLayer.Run(HostTensor, MoeResult, HostTensor?)"/>,
/// the routed variant, <see cref="Accel.Execution.GraphSession.RunInto"/>): the same bytes as the
/// allocating runs, reused tensors overwritten completely, and wrong tensors refused with the
/// shape that was expected.
/// </summary>
public sealed class RunIntoTests
{
    private static readonly object[] Cases =
    [
        new object[] { "deepseek-v4-tiny", 3, SyntheticFormat.Fp8, 5 },
        new object[] { "deepseek-v4-tiny", 0, SyntheticFormat.Fp4, 37 },
        new object[] { "mixtral-tiny", 0, SyntheticFormat.BF16, 1 },
        new object[] { "qwen2-moe-tiny", 1, SyntheticFormat.F32, 0 },
    ];

    private static Dictionary<string, HostTensor> Weights(MoeConfig config, int layer, SyntheticFormat format) =>
        RoutedLayerTests.Weights(config, layer, format);

    private static HostTensor? TokenIds(MoeLayer layer, int tokens) =>
        layer.NeedsTokenIds ? SyntheticCheckpoint.TokenIds(tokens, layer.Config.Vocab) : null;

    private static void AssertSameBytes(MoeResult actual, MoeResult expected)
    {
        Assert.That(actual.Output.ReadOnlyBytes.SequenceEqual(expected.Output.ReadOnlyBytes), Is.True, "output differs");
        Assert.That(actual.TopkIds.ReadOnlyBytes.SequenceEqual(expected.TopkIds.ReadOnlyBytes), Is.True, "topk_ids differ");
        Assert.That(actual.TopkWeights.ReadOnlyBytes.SequenceEqual(expected.TopkWeights.ReadOnlyBytes), Is.True, "topk_weights differ");
    }

    [TestCaseSource(nameof(Cases))]
    public void A_kept_result_gets_the_allocating_runs_bytes_run_after_run(string preset, int layerIndex, SyntheticFormat format, int tokens)
    {
        var config = MoePresets.All[preset];
        using var backend = new ReferenceBackend();
        using var layer = new MoeLayer(config, layerIndex, Weights(config, layerIndex, format), [backend]);
        var kept = layer.NewResult(tokens);
        Assert.That(kept.Output.Shape, Is.EqualTo(new Shape(tokens, config.Hidden)));
        Assert.That(kept.TopkIds.Shape, Is.EqualTo(new Shape(tokens, config.TopK)));

        // Two different inputs in turn into the same tensors (poisoned first): each run overwrites all of them.
        kept.Output.AsSpan<float>().Fill(float.NaN);
        kept.TopkIds.AsSpan<int>().Fill(-1);
        foreach (int seed in new[] { 1, 2, 1 })
        {
            var x = SyntheticCheckpoint.Activations(tokens, config.Hidden, seed);
            layer.Run(x, kept, TokenIds(layer, tokens));
            AssertSameBytes(kept, layer.Run(x, TokenIds(layer, tokens)));
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Routed_runs_into_a_kept_output_give_the_allocating_runs_bytes(string preset, int layerIndex, SyntheticFormat format, int tokens)
    {
        var config = MoePresets.All[preset];
        var weights = Weights(config, layerIndex, format);
        using var backend = new ReferenceBackend();
        using var full = new MoeLayer(config, layerIndex, weights, [backend]);
        using var routed = new MoeLayer(config, layerIndex, weights, [backend], mode: MoeLayerMode.Routed);
        var x = SyntheticCheckpoint.Activations(tokens, config.Hidden);
        var routing = full.Run(x, TokenIds(full, tokens));
        var kept = routed.NewResult(tokens);
        Assert.That(kept.TopkIds.Shape, Is.EqualTo(new Shape(tokens, 0)));
        kept.Output.AsSpan<float>().Fill(float.NaN);
        routed.RunRouted(x, routing.TopkIds, routing.TopkWeights, kept.Output);
        var expected = routed.RunRouted(x, routing.TopkIds, routing.TopkWeights);
        Assert.That(kept.Output.ReadOnlyBytes.SequenceEqual(expected.ReadOnlyBytes), Is.True);
    }

    /// <summary>
    /// bf16 and f16 input into a kept result (and a kept routed output): the allocating run's bytes,
    /// run after run with the types and inputs changing, and no fp32 copy allocated per run (the
    /// layer converts into one it keeps with the result).
    /// </summary>
    [TestCase(DType.BF16)]
    [TestCase(DType.F16)]
    public void Half_precision_input_converts_into_a_copy_kept_with_the_result(DType type)
    {
        const int tokens = 64;
        var config = MoePresets.MixtralTiny;
        var weights = Weights(config, 0, SyntheticFormat.F32);
        using var backend = new ReferenceBackend();
        using var layer = new MoeLayer(config, 0, weights, [backend]);
        using var routed = new MoeLayer(config, 0, weights, [backend], mode: MoeLayerMode.Routed);
        HostTensor Half(int seed, DType t)
        {
            var x = SyntheticCheckpoint.Activations(tokens, config.Hidden, seed);
            var bits = new ushort[x.Shape.Elements];
            NumericFormats.F32ToHalfBits(x.AsSpan<float>(), bits, t);
            return new HostTensor(t, x.Shape, [.. bits.SelectMany(BitConverter.GetBytes)]);
        }

        var kept = layer.NewResult(tokens);
        var keptRouted = routed.NewOutput(tokens);
        foreach (var (seed, t) in new[] { (1, type), (2, DType.F32), (3, type), (3, type) })
        {
            var x = t == DType.F32 ? SyntheticCheckpoint.Activations(tokens, config.Hidden, seed) : Half(seed, t);
            layer.Run(x, kept);
            var expected = layer.Run(x);
            AssertSameBytes(kept, expected);
            routed.RunRouted(x, expected.TopkIds, expected.TopkWeights, keptRouted);
            Assert.That(keptRouted.ReadOnlyBytes.SequenceEqual(routed.RunRouted(x, expected.TopkIds, expected.TopkWeights).ReadOnlyBytes), Is.True,
                $"routed, seed {seed}, {t}");
        }

        // Against an f32 run into the same result, a half-precision run allocates no fp32 copy of the input.
        var half = Half(4, type);
        var full = SyntheticCheckpoint.Activations(tokens, config.Hidden, 4);
        layer.Run(half, kept);
        layer.Run(full, kept);
        long before = GC.GetAllocatedBytesForCurrentThread();
        layer.Run(full, kept);
        long f32Bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        before = GC.GetAllocatedBytesForCurrentThread();
        layer.Run(half, kept);
        long halfBytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(halfBytes - f32Bytes, Is.LessThan(tokens * config.Hidden * sizeof(float) / 2), $"f32 run {f32Bytes} B, {type} run {halfBytes} B");
    }

    [Test]
    public void A_result_of_the_wrong_shape_or_dtype_is_refused_with_the_expected_one()
    {
        var config = MoePresets.MixtralTiny;
        using var backend = new ReferenceBackend();
        using var layer = new MoeLayer(config, 0, Weights(config, 0, SyntheticFormat.F32), [backend]);
        var x = SyntheticCheckpoint.Activations(3, config.Hidden);
        var good = layer.NewResult(3);
        (MoeResult Result, string Says)[] wrong =
        [
            (good with { Output = HostTensor.Zeros(DType.F32, new Shape(4, config.Hidden)) }, $"(here f32[3, {config.Hidden}]) but is f32[4, {config.Hidden}]"),
            (good with { Output = HostTensor.Zeros(DType.BF16, new Shape(3, config.Hidden)) }, "but is bf16"),
            (good with { TopkIds = HostTensor.Zeros(DType.I64, new Shape(3, config.TopK)) }, "but is i64"),
            (good with { TopkWeights = good.Output }, $"but is f32[3, {config.Hidden}]"),
            (good with { TopkWeights = good.TopkIds }, "but is i32"),
        ];
        foreach (var (result, says) in wrong)
        {
            var e = Assert.Throws<InvalidInputException>(() => layer.Run(x, result));
            Assert.That(e!.Message, Does.Contain(says).IgnoreCase, e.Message);
        }

        // The layer still runs after the refusals.
        layer.Run(x, good);
        AssertSameBytes(good, layer.Run(x));
    }

    [Test]
    public void Malformed_hidden_states_are_refused_before_a_result_is_sized_from_them()
    {
        // A flat [T * D] input: sizing the result from its first extent would allocate T * D rows.
        var config = MoePresets.MixtralTiny;
        using var backend = new ReferenceBackend();
        using var full = new MoeLayer(config, 0, Weights(config, 0, SyntheticFormat.F32), [backend]);
        using var routed = new MoeLayer(config, 0, Weights(config, 0, SyntheticFormat.F32), [backend], mode: MoeLayerMode.Routed);
        long flat = 4096L * config.Hidden;
        var x = HostTensor.FromF32(new Shape(flat), new float[flat]);
        var ids = HostTensor.Zeros(DType.I32, new Shape(4096, config.TopK));
        var gates = HostTensor.Zeros(DType.F32, new Shape(4096, config.TopK));
        long wrongResultBytes = flat * config.Hidden * sizeof(float);
        foreach (var run in new Action[] { () => full.Run(x), () => routed.RunRouted(x, ids, gates) })
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<InvalidInputException>(() => run());
            Assert.That(e!.Message, Does.Contain($"hidden_states must be [T, {config.Hidden}]"));
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(wrongResultBytes / 16));
        }
    }

    [Test]
    public void Session_outputs_that_are_missing_or_unknown_are_refused_by_name()
    {
        var config = MoePresets.MixtralTiny;
        using var backend = new ReferenceBackend();
        using var layer = new MoeLayer(config, 0, Weights(config, 0, SyntheticFormat.F32), [backend]);
        var inputs = new Dictionary<string, HostTensor> { [MoeLayerBuilder.HiddenStates] = SyntheticCheckpoint.Activations(2, config.Hidden) };
        var shapes = layer.Session.OutputShapes(2);
        Assert.That(shapes.Keys, Is.EquivalentTo(layer.Graph.Outputs.Select(o => layer.Graph.Values[o].Name)));
        var outputs = shapes.ToDictionary(p => p.Key, p => HostTensor.Zeros(p.Value.Type, p.Value.Shape));
        layer.Session.RunInto(inputs, outputs);
        var expected = layer.Session.Run(inputs);
        foreach (var (name, tensor) in outputs)
        {
            Assert.That(tensor.ReadOnlyBytes.SequenceEqual(expected[name].ReadOnlyBytes), Is.True, name);
        }

        string output = MoeLayerBuilder.OutputValue(layer.Graph);
        var missing = outputs.Where(p => p.Key != output).ToDictionary();
        Assert.That(Assert.Throws<InvalidInputException>(() => layer.Session.RunInto(inputs, missing))!.Message, Does.Contain($"'{output}'"));
        var unknown = new Dictionary<string, HostTensor>(outputs) { ["outptu"] = HostTensor.Zeros(DType.F32, new Shape(2, config.Hidden)) };
        Assert.That(Assert.Throws<InvalidInputException>(() => layer.Session.RunInto(inputs, unknown))!.Message,
            Does.Contain("'outptu' is not an output").And.Contain(output));
    }
}
