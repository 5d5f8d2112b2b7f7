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
