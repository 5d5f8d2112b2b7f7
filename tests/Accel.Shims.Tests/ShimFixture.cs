using System.Text.Json.Nodes;
using Accel.Backends;
using Accel.Backends.Reference;
using Accel.Backends.Shims;
using Accel.Execution;
using Accel.IO;
using Accel.Moe;
using Accel.Profiles;
using Accel.Types;

namespace Accel.Shims.Tests;

/// <summary>Shared helpers: the shipped catalog, user profiles in a temp folder, layers on a chain.</summary>
internal static class ShimFixture
{
    /// <summary>The three shim profiles the issue names.</summary>
    public static readonly string[] Shims = ["ascend-910b", "cambricon-mlu370-x8", "hygon-k100-ai"];

    private static readonly Lazy<ProfileCatalog> Shipped = new(() => new HardwareProfileLoader().LoadCatalog());

    /// <summary>The shipped profiles.</summary>
    public static ProfileCatalog Catalog => Shipped.Value;

    /// <summary>Opens the shim of a shipped profile.</summary>
    public static IBackend Open(string id)
    {
        var provider = new ShimProvider(Catalog);
        return provider.Create(provider.EnumerateDevices().Single(d => d.Id == id));
    }

    /// <summary>
    /// Writes a user profile derived from the shipped <paramref name="baseId"/> into a fresh temp
    /// folder (id <paramref name="newId"/>, edited by <paramref name="edit"/>) and loads it the way a
    /// user's folder is loaded.
    /// </summary>
    public static HardwareProfile UserProfile(string baseId, string newId, Action<JsonObject> edit)
    {
        var json = JsonNode.Parse(File.ReadAllText(Catalog.FileOf(baseId)))!.AsObject();
        json["id"] = newId;
        edit(json);
        string folder = Path.Combine(Path.GetTempPath(), "accel-shim-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            File.WriteAllText(Path.Combine(folder, newId + ".json"), json.ToJsonString());
            return new HardwareProfileLoader().LoadCatalog([folder]).Get(newId);
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    /// <summary>Layer weights of a preset in a synthetic format.</summary>
    public static IReadOnlyDictionary<string, HostTensor> Weights(MoeConfig config, int layer, SyntheticFormat format) =>
        MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(config, layer, format)), config, layer);

    /// <summary>Runs a layer on the chain and on the reference; asserts the output and routing match.</summary>
    public static MoeLayer CheckLayer(string preset, int layer, SyntheticFormat format, int tokens,
        IReadOnlyList<IBackend> chain, SessionOptions? options = null)
    {
        var config = MoePresets.All[preset];
        var weights = Weights(config, layer, format);
        var x = SyntheticCheckpoint.Activations(tokens, config.Hidden);
        var ids = config.IsHashLayer(layer) ? SyntheticCheckpoint.TokenIds(tokens, config.Vocab) : null;
        using var reference = new ReferenceBackend();
        using var expectedLayer = new MoeLayer(config, layer, weights, [reference]);
        var expected = expectedLayer.Run(x, ids);
        var moe = new MoeLayer(config, layer, weights, chain, options);
        var actual = moe.Run(x, ids);
        double error = Metrics.RelativeError(actual.Output.ToF32(), expected.Output.ToF32());
        Assert.That(error, Is.LessThan(1e-5), $"{preset} layer {layer} {format}: norm-wise relative error");
        Assert.That(actual.TopkIds.ToI32(), Is.EqualTo(expected.TopkIds.ToI32()), "topk_ids");
        return moe;
    }
}
