using Accel.Backends.Reference;
using Accel.Execution;
using Accel.IO;
using Accel.Moe;
using Accel.Passes;
using Accel.Types;

namespace Accel.Core.Tests.Oracle;

/// <summary>
/// The layer against the oracle when one session runs many token counts (plans cached, evicted
/// and rebuilt), when expert segments are padded, and when the router is stored in bf16.
/// </summary>
public sealed class SessionReuseTests
{
    [TestCase("deepseek-v4-tiny", 0)]
    [TestCase("deepseek-v3-tiny", 2)]
    public void One_layer_runs_changing_token_counts(string preset, int layer)
    {
        var config = MoePresets.All[preset];
        var tensors = SyntheticCheckpoint.Create(config, layer, SyntheticFormat.Fp4);
        var oracle = new OracleMoe(config, layer, tensors);
        using var backend = new ReferenceBackend();
        using var moe = new MoeLayer(config, layer, MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, layer), [backend]);
        // Six distinct counts against a plan cache of four: 7 is evicted and planned again.
        int seed = 0;
        foreach (int tokens in (int[])[7, 1, 0, 3, 5, 2, 7, 1])
        {
            var x = OracleAssert.Hidden(tokens, config.Hidden, seed: ++seed);
            var ids = moe.NeedsTokenIds ? LayerVsOracleTests.TokenIds(tokens, config.Vocab, seed) : null;
            var result = moe.Run(x, ids is null ? null : HostTensor.FromI32(new Shape(tokens), ids));
            OracleAssert.Agrees(result, oracle.Run(x, ids), config);
        }
    }

    [TestCase("deepseek-v3-tiny", 2, 4)]
    [TestCase("deepseek-v4-tiny", 3, 8)]
    [TestCase("mixtral-tiny", 0, 3)]
    public void Padded_expert_segments_change_nothing(string preset, int layer, int alignment)
    {
        var config = MoePresets.All[preset];
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(LayerVsOracleTests.Checkpoint(config, layer, SyntheticFormat.F32)), config, layer);
        var graph = MoeLayerBuilder.Build(config, layer, weights);
        var padded = new SegmentAlignmentPass(alignment).Run(graph);
        using var backend = new ReferenceBackend();
        using var plain = new GraphSession(graph, [backend], weights);
        using var aligned = new GraphSession(padded, [backend], weights);
        var inputs = new Dictionary<string, HostTensor> { [MoeLayerBuilder.HiddenStates] = OracleAssert.Hidden(5, config.Hidden, seed: 9) };
        if (config.IsHashLayer(layer))
        {
            inputs[MoeLayerBuilder.TokenIds] = SyntheticCheckpoint.TokenIds(5, config.Vocab);
        }

        var a = plain.Run(inputs);
        var b = aligned.Run(inputs);
        Assert.That(aligned.PlanFor(5).Values.Single(v => v.Name == "permute").Shape[0], Is.EqualTo(5 * config.TopK + config.Experts * (alignment - 1)));
        foreach (var name in a.Keys)
        {
            Assert.That(b[name].ReadOnlyBytes.SequenceEqual(a[name].ReadOnlyBytes), Is.True, name);
        }
    }

    [Test]
    public void Router_and_bias_stored_in_bf16()
    {
        // Real checkpoints store the router weight in bf16 (and older V3 ones the bias too).
        var config = MoePresets.DeepSeekV3Tiny;
        var tensors = SyntheticCheckpoint.Create(config, 2, SyntheticFormat.BF16);
        foreach (string name in (string[])["model.layers.2.mlp.gate.weight", "model.layers.2.mlp.gate.e_score_correction_bias"])
        {
            var f = tensors[name].AsSpan<float>().ToArray();
            tensors[name] = new HostTensor(DType.BF16, tensors[name].Shape,
                [.. f.SelectMany(v => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)))]);
        }

        var x = OracleAssert.Hidden(7, config.Hidden, seed: 77);
        OracleAssert.Agrees(OracleAssert.RunLayer(config, 2, tensors, x), new OracleMoe(config, 2, tensors).Run(x), config);
    }
}
