using Accel.Backends.Reference;
using Accel.IO;
using Accel.Moe;

namespace Accel.Core.Tests.Moe;

public sealed class LayerRunsTests
{
    private static readonly object[] Cases =
    [
        new object[] { "deepseek-v3-tiny", 2, SyntheticFormat.F32, 5 },
        new object[] { "deepseek-v4-tiny", 0, SyntheticFormat.Fp4, 5 },
        new object[] { "deepseek-v4-tiny", 3, SyntheticFormat.Fp8, 1 },
        new object[] { "mixtral-tiny", 0, SyntheticFormat.BF16, 0 },
        new object[] { "qwen2-moe-tiny", 1, SyntheticFormat.F32, 3 },
    ];

    [TestCaseSource(nameof(Cases))]
    public void Every_family_runs_on_the_reference_backend(string preset, int layer, SyntheticFormat format, int tokens)
    {
        var config = MoePresets.All[preset];
        var tensors = SyntheticCheckpoint.Create(config, layer, format);
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, layer);
        using var backend = new ReferenceBackend();
        using var moe = new MoeLayer(config, layer, weights, [backend]);
        var x = SyntheticCheckpoint.Activations(tokens, config.Hidden);
        var ids = moe.NeedsTokenIds ? SyntheticCheckpoint.TokenIds(tokens, config.Vocab) : null;
        var result = moe.Run(x, ids);
        Assert.That(result.Output.Shape[0], Is.EqualTo(tokens));
        Assert.That(result.Output.ToF32().All(float.IsFinite), Is.True);
        Assert.That(result.TopkIds.Shape[1], Is.EqualTo(config.TopK));
    }
}

public sealed class LoaderGuardTests
{
    [Test]
    public void A_noaux_tc_config_without_the_bias_tensor_is_refused()
    {
        var config = MoePresets.DeepSeekV3Tiny;
        var tensors = SyntheticCheckpoint.Create(config, 2, SyntheticFormat.F32);
        tensors.Remove("model.layers.2.mlp.gate.e_score_correction_bias");
        var e = Assert.Throws<Accel.Errors.InvalidInputException>(() => MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, 2));
        Assert.That(e!.Message, Does.Contain("e_score_correction_bias").And.Contain("noaux_tc"));
    }

    [Test]
    public void A_nan_block_scale_is_refused()
    {
        var config = MoePresets.DeepSeekV4Tiny;
        var tensors = SyntheticCheckpoint.Create(config, 3, SyntheticFormat.Fp4);
        string scale = tensors.Keys.First(k => k.EndsWith("experts.1.up_proj.scale", StringComparison.Ordinal));
        tensors[scale].Bytes[2] = 255;
        var e = Assert.Throws<Accel.Errors.InvalidInputException>(() => MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, 3));
        Assert.That(e!.Message, Does.Contain(scale).And.Contain("NaN"));

        var fp8 = SyntheticCheckpoint.Create(config, 3, SyntheticFormat.Fp8);
        string f32Scale = fp8.Keys.First(k => k.EndsWith("experts.0.down_proj.weight_scale_inv", StringComparison.Ordinal));
        fp8[f32Scale].AsSpan<float>()[0] = float.PositiveInfinity;
        e = Assert.Throws<Accel.Errors.InvalidInputException>(() => MoeWeightLoader.Load(new InMemoryTensorSource(fp8), config, 3));
        Assert.That(e!.Message, Does.Contain(f32Scale).And.Contain("finite"));
    }
}
