using System.Text.Json;
using Accel.Errors;
using Accel.IO;
using Accel.Types;
using NUnit.Framework;

namespace Accel.Core.Tests.IO;

[TestFixture]
public sealed class SafetensorsCheckpointTests : SafetensorsTestBase
{
    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";

    /// <summary>Two shards: embed + layer 0 in the first, layer 1 + head in the second.</summary>
    private void WriteShards()
    {
        WriteTensors(Shard1,
            ("embed.weight", Make(DType.BF16, [8, 4], 1)), ("layers.0.mlp.experts.w1", Make(DType.F8E4M3, [2, 4, 4], 2)),
            ("layers.0.mlp.experts.w1_scale", Make(DType.UE8M0, [2, 4], 3)));
        WriteTensors(Shard2,
            ("layers.1.mlp.experts.w1", Make(DType.F8E4M3, [2, 4, 4], 4)), ("lm_head.weight", Make(DType.BF16, [8, 4], 5)),
            ("layers.1.router.bias", Make(DType.F32, [0], 6)));
    }

    private void WriteIndex(Dictionary<string, string> weightMap, string name = SafetensorsCheckpoint.IndexFileName)
    {
        var index = new { metadata = new { total_size = 1234 }, weight_map = weightMap };
        File.WriteAllText(Path.Combine(Dir, name), JsonSerializer.Serialize(index));
    }

    private static Dictionary<string, string> FullMap() => new()
    {
        ["embed.weight"] = Shard1,
        ["layers.0.mlp.experts.w1"] = Shard1,
        ["layers.0.mlp.experts.w1_scale"] = Shard1,
        ["layers.1.mlp.experts.w1"] = Shard2,
        ["lm_head.weight"] = Shard2,
        ["layers.1.router.bias"] = Shard2,
    };

    private static readonly string[] AllNames =
    [
        "embed.weight", "layers.0.mlp.experts.w1", "layers.0.mlp.experts.w1_scale", "layers.1.mlp.experts.w1",
        "layers.1.router.bias", "lm_head.weight",
    ];

    private static void AssertFullCheckpoint(SafetensorsCheckpoint ckpt)
    {
        Assert.That(ckpt.Names, Is.EqualTo(AllNames));
        Assert.That(ckpt.Files, Has.Count.EqualTo(2));
        Assert.That(ckpt.Contains("lm_head.weight"), Is.True);
        Assert.That(ckpt.Contains("missing"), Is.False);
        Assert.That(ckpt.Describe("layers.0.mlp.experts.w1"),
            Is.EqualTo(new TensorDesc("layers.0.mlp.experts.w1", DType.F8E4M3, new Shape(2, 4, 4))));
        Assert.That(ckpt.TryDescribe("layers.1.router.bias", out TensorDesc? bias), Is.True);
        Assert.That(bias!.Shape.Elements, Is.Zero);
        Assert.That(ckpt.TryDescribe("nope", out _), Is.False);
        Assert.That(ckpt.Read("lm_head.weight").ReadOnlyBytes.ToArray(),
            Is.EqualTo(Make(DType.BF16, [8, 4], 5).ReadOnlyBytes.ToArray()));
        Assert.That(ckpt.GetBytes("layers.0.mlp.experts.w1_scale").ToArray(),
            Is.EqualTo(Make(DType.UE8M0, [2, 4], 3).ReadOnlyBytes.ToArray()));
        Assert.That(Path.GetFileName(ckpt.FileOf("embed.weight").Path), Is.EqualTo(Shard1));
        Assert.That(Path.GetFileName(ckpt.FileOf("lm_head.weight").Path), Is.EqualTo(Shard2));
    }

    [Test]
    public void Folder_with_an_index_opens_the_shards_it_names()
    {
        WriteShards();
        WriteIndex(FullMap());
        WriteTensors("consolidated.safetensors", ("embed.weight", Make(DType.BF16, [8, 4], 1)));

        using var ckpt = SafetensorsCheckpoint.Open(Dir);
        AssertFullCheckpoint(ckpt);
        Assert.That(ckpt.Path, Is.EqualTo(Dir));
    }

    [Test]
    public void The_index_file_itself_can_be_opened()
    {
        WriteShards();
        WriteIndex(FullMap(), "custom.safetensors.index.json");
        using var ckpt = SafetensorsCheckpoint.Open(Path.Combine(Dir, "custom.safetensors.index.json"));
        AssertFullCheckpoint(ckpt);
    }

    [Test]
    public void Folder_without_an_index_opens_every_shard()
    {
        WriteShards();
        using var ckpt = SafetensorsCheckpoint.Open(Dir);
        AssertFullCheckpoint(ckpt);
    }

    [Test]
    public void A_single_file_is_a_checkpoint_of_one_shard()
    {
        string path = WriteTensors("single.safetensors", ("x", Make(DType.I64, [3])));
        using var ckpt = SafetensorsCheckpoint.Open(path);
        Assert.That(ckpt.Names, Is.EqualTo(new[] { "x" }));
        Assert.That(ckpt.Files, Has.Count.EqualTo(1));
        Assert.That(ckpt.Read("x").ReadOnlyBytes.ToArray(), Is.EqualTo(Make(DType.I64, [3]).ReadOnlyBytes.ToArray()));
    }

    [Test]
    public void A_missing_shard_is_named()
    {
        WriteShards();
        Dictionary<string, string> map = FullMap();
        map["extra.weight"] = "model-00003-of-00002.safetensors";
        WriteIndex(map);

        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain("'model-00003-of-00002.safetensors'"));
        Assert.That(ex.Message, Does.Contain("does not exist"));
        Assert.That(ex.Message, Does.Contain("extra.weight"));
        Assert.That(ex.FilePath, Does.EndWith(SafetensorsCheckpoint.IndexFileName));
    }

    [Test]
    public void A_tensor_in_two_shards_is_rejected()
    {
        WriteShards();
        WriteTensors("model-00003-of-00003.safetensors", ("lm_head.weight", Make(DType.BF16, [8, 4], 5)));

        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain("'lm_head.weight'").And.Contain("two shards"));
        Assert.That(ex.Message, Does.Contain(Shard2).And.Contain("model-00003-of-00003.safetensors"));
    }

    [Test]
    public void A_tensor_in_two_shards_named_by_the_index_is_rejected()
    {
        WriteShards();
        WriteTensors("model-00003-of-00003.safetensors", ("embed.weight", Make(DType.BF16, [8, 4], 1)));
        Dictionary<string, string> map = FullMap();
        map["embed.weight"] = "model-00003-of-00003.safetensors";
        WriteIndex(map);

        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain("'embed.weight'").And.Contain("two shards"));
    }

    [Test]
    public void An_index_that_puts_a_tensor_in_the_wrong_shard_is_rejected()
    {
        WriteShards();
        Dictionary<string, string> map = FullMap();
        map["lm_head.weight"] = Shard1;
        WriteIndex(map);

        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain("'lm_head.weight'").And.Contain("does not hold it"));
    }

    [TestCase("not json", "not valid JSON")]
    [TestCase("[]", "weight_map")]
    [TestCase("{\"metadata\":{}}", "weight_map")]
    [TestCase("{\"weight_map\":[]}", "weight_map")]
    [TestCase("{\"weight_map\":{}}", "empty")]
    [TestCase("{\"weight_map\":{\"a\":1}}", "'a'")]
    [TestCase("{\"weight_map\":{\"a\":\"../outside.safetensors\"}}", "not a file inside")]
    [TestCase("{\"weight_map\":{\"a\":\"x.safetensors\",\"a\":\"y.safetensors\"}}", "twice")]
    public void Malformed_indexes_are_rejected(string json, string expected)
    {
        WriteShards();
        File.WriteAllText(Path.Combine(Dir, SafetensorsCheckpoint.IndexFileName), json);
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain(expected));
    }

    [Test]
    public void An_empty_folder_is_reported()
    {
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(Dir));
        Assert.That(ex!.Message, Does.Contain("no *.safetensors files"));
    }

    [Test]
    public void A_corrupt_shard_fails_the_whole_checkpoint()
    {
        WriteShards();
        File.WriteAllBytes(Path.Combine(Dir, Shard2), new byte[5]);
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsCheckpoint.Open(Dir));
        Assert.That(ex!.FilePath, Does.EndWith(Shard2));
    }

    [Test]
    public void A_missing_tensor_lists_similar_names_from_every_shard()
    {
        WriteShards();
        using var ckpt = SafetensorsCheckpoint.Open(Dir);
        var ex = Assert.Throws<SafetensorsException>(() => ckpt.Describe("layers.2.mlp.experts.w1"));
        Assert.That(ex!.Message, Does.Contain("'layers.2.mlp.experts.w1'"));
        Assert.That(ex.Message, Does.Contain("'layers.0.mlp.experts.w1'").And.Contain("'layers.1.mlp.experts.w1'"));
        Assert.Throws<SafetensorsException>(() => ckpt.Read("layers.2.mlp.experts.w1"));
        Assert.Throws<SafetensorsException>(() => ckpt.GetBytes("layers.2.mlp.experts.w1"));
    }

    [Test]
    public void Dispose_unmaps_every_shard()
    {
        WriteShards();
        var ckpt = SafetensorsCheckpoint.Open(Dir);
        ckpt.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ckpt.GetBytes("embed.weight"));
        Assert.Throws<ObjectDisposedException>(() => ckpt.GetBytes("lm_head.weight"));
    }
}
