using Accel.Backends;
using Accel.Backends.Reference;
using Accel.Moe;

namespace Accel.Shims.Tests;

/// <summary>Every layer family, f32 and FP8/FP4, on every shim matches the reference backend.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LayerTests
{
    private static readonly (string Preset, int Layer, SyntheticFormat Format, int Tokens)[] Layers =
    [
        ("deepseek-v3-tiny", 2, SyntheticFormat.F32, 5),
        ("deepseek-v3-tiny", 2, SyntheticFormat.Fp8, 3),
        ("deepseek-v4-tiny", 0, SyntheticFormat.Fp4, 5),
        ("deepseek-v4-tiny", 3, SyntheticFormat.Fp8, 1),
        ("deepseek-v4-tiny", 3, SyntheticFormat.Fp4, 0),
        ("mixtral-tiny", 0, SyntheticFormat.F32, 4),
        ("mixtral-tiny", 1, SyntheticFormat.Fp8, 3),
        ("qwen2-moe-tiny", 1, SyntheticFormat.F32, 3),
        ("qwen2-moe-tiny", 0, SyntheticFormat.Fp4, 2),
    ];

    private readonly Dictionary<string, IBackend> _backends = [];
    private ReferenceBackend _reference = null!;

    private static IEnumerable<TestCaseData> Cases() =>
        from shim in ShimFixture.Shims
        from l in Layers
        select new TestCaseData(shim, l.Preset, l.Layer, l.Format, l.Tokens)
            .SetName($"{shim} {l.Preset} layer {l.Layer} {l.Format} T={l.Tokens}");

    [OneTimeSetUp]
    public void Open()
    {
        _reference = new ReferenceBackend();
        foreach (var id in ShimFixture.Shims)
        {
            _backends[id] = ShimFixture.Open(id);
        }
    }

    [OneTimeTearDown]
    public void Close()
    {
        foreach (var b in _backends.Values)
        {
            b.Dispose();
        }

        _reference.Dispose();
    }

    [TestCaseSource(nameof(Cases))]
    public void Layer_matches_the_reference(string shim, string preset, int layer, SyntheticFormat format, int tokens)
    {
        using var moe = ShimFixture.CheckLayer(preset, layer, format, tokens, [_backends[shim], _reference]);
        var onShim = moe.Session.Placements.Where(p => p.Backend == 0).Select(p => p.Node.Kind).ToList();
        Assert.That(onShim, Does.Contain(Graph.OpKind.GroupedGemm), "the expert GEMMs run on the shim, not the fallback");
    }
}
