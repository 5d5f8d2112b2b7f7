using Accel.Backends.Reference;
using Accel.IO;
using Accel.Moe;
using Accel.Types;
using NUnit.Framework;

namespace Accel.OpenCL.Tests;

/// <summary>Whole MoE layers of every family on opencl:0 against the reference (MoePresets tiny configs).</summary>
[TestFixture]
public sealed class LayerTests
{
    /// <summary>Norm-wise relative error allowed for the layer output.</summary>
    public const double Tolerance = 1e-5;

    public static IEnumerable<TestCaseData> Cases()
    {
        var families = new (string Name, MoeConfig Config, int Layer, SyntheticFormat Format)[]
        {
            ("deepseek-v3-tiny fp8", MoePresets.DeepSeekV3Tiny, 1, SyntheticFormat.Fp8),
            ("deepseek-v4-tiny fp4 hash", MoePresets.DeepSeekV4Tiny, 0, SyntheticFormat.Fp4),
            ("deepseek-v4-tiny fp4 scored", MoePresets.DeepSeekV4Tiny, 3, SyntheticFormat.Fp4),
            ("mixtral-tiny bf16", MoePresets.MixtralTiny, 1, SyntheticFormat.BF16),
            ("qwen2-moe-tiny f32", MoePresets.Qwen2MoeTiny, 1, SyntheticFormat.F32),
        };
        foreach (var f in families)
        {
            foreach (int tokens in new[] { 0, 1, 13 })
            {
                yield return new TestCaseData(f.Config, f.Layer, f.Format, tokens).SetArgDisplayNames(f.Name, $"T{tokens}");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void LayerMatchesReference(MoeConfig config, int layer, SyntheticFormat format, int tokens)
    {
        var backend = OpenClTestEnvironment.Backend;
        var weights = MoeWeightLoader.Load(
            new InMemoryTensorSource(SyntheticCheckpoint.Create(config, layer, format, seed: 11)), config, layer);
        var x = SyntheticCheckpoint.Activations(tokens, config.Hidden, seed: 12);
        var ids = config.IsHashLayer(layer) ? SyntheticCheckpoint.TokenIds(tokens, config.Vocab, seed: 13) : null;

        using var reference = new ReferenceBackend();
        using var oracle = new MoeLayer(config, layer, weights, [reference]);
        using var moe = new MoeLayer(config, layer, weights, [backend], new Execution.SessionOptions(Strict: true));
        var expected = oracle.Run(x, ids);
        var actual = moe.Run(x, ids);

        Assert.That(actual.TopkIds.ToI32(), Is.EqualTo(expected.TopkIds.ToI32()), "topk_ids");
        double error = Metrics.RelativeError(actual.Output.ToF32(), expected.Output.ToF32());
        Assert.That(error, Is.LessThan(Tolerance), "norm-wise relative error of the output");
    }
}
