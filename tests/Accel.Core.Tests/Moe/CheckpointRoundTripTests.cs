using System.Text.Json;
using Accel.Backends.Reference;
using Accel.Core.Tests.IO;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Moe;

/// <summary>
/// Synthetic layers written as real safetensors checkpoints (one file, or two shards with an
/// index, plus config.json), opened, loaded and run: the result must equal the in-memory path
/// bit for bit.
/// </summary>
[TestFixture]
public sealed class CheckpointRoundTripTests : SafetensorsTestBase
{
    private static MoeResult Run(MoeConfig config, int layer, ITensorSource source, int tokens = 5)
    {
        var weights = MoeWeightLoader.Load(source, config, layer);
        using var backend = new ReferenceBackend();
        using var moe = new MoeLayer(config, layer, weights, [backend]);
        var x = SyntheticCheckpoint.Activations(tokens, config.Hidden, seed: 31);
        var ids = moe.NeedsTokenIds ? SyntheticCheckpoint.TokenIds(tokens, config.Vocab, seed: 5) : null;
        return moe.Run(x, ids);
    }

    private static void AssertBitwiseEqual(MoeResult actual, MoeResult expected)
    {
        Assert.That(actual.Output.ReadOnlyBytes.ToArray(), Is.EqualTo(expected.Output.ReadOnlyBytes.ToArray()), "output");
        Assert.That(actual.TopkIds.ReadOnlyBytes.ToArray(), Is.EqualTo(expected.TopkIds.ReadOnlyBytes.ToArray()), "topk_ids");
        Assert.That(actual.TopkWeights.ReadOnlyBytes.ToArray(), Is.EqualTo(expected.TopkWeights.ReadOnlyBytes.ToArray()), "topk_weights");
    }

    public static IEnumerable<TestCaseData> Layers()
    {
        yield return new TestCaseData("deepseek-v3-tiny", 2, SyntheticFormat.Fp8);
        yield return new TestCaseData("deepseek-v3-tiny", 2, SyntheticFormat.Fp4);
        yield return new TestCaseData("deepseek-v4-tiny", 3, SyntheticFormat.Fp4);
        yield return new TestCaseData("deepseek-v4-tiny", 0, SyntheticFormat.Fp4);
        yield return new TestCaseData("deepseek-v4-tiny", 3, SyntheticFormat.Fp8);
        yield return new TestCaseData("mixtral-tiny", 0, SyntheticFormat.Fp8);
        yield return new TestCaseData("qwen2-moe-tiny", 1, SyntheticFormat.Fp4);
        yield return new TestCaseData("qwen2-moe-tiny", 1, SyntheticFormat.BF16);
    }

    [TestCaseSource(nameof(Layers))]
    public void One_file_checkpoint_runs_bitwise_like_the_in_memory_tensors(string preset, int layer, SyntheticFormat format)
    {
        var config = MoePresets.All[preset];
        var tensors = SyntheticCheckpoint.Create(config, layer, format);
        string path = Path.Combine(Dir, "model.safetensors");
        SafetensorsWriter.Write(path, tensors);

        using var ckpt = SafetensorsCheckpoint.Open(path);
        Assert.That(ckpt.Names, Is.EquivalentTo(tensors.Keys));
        foreach (var (name, t) in tensors)
        {
            Assert.That(ckpt.Describe(name).Type, Is.EqualTo(t.Type), name);
            Assert.That(ckpt.GetBytes(name).SequenceEqual(t.ReadOnlyBytes), Is.True, name);
        }

        var fromFile = MoeWeightLoader.Load(ckpt, config, layer);
        var inMemory = MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, layer);
        Assert.That(fromFile.Keys, Is.EquivalentTo(inMemory.Keys));
        foreach (var (name, t) in inMemory)
        {
            Assert.That(fromFile[name].ToString(), Is.EqualTo(t.ToString()), name);
            Assert.That(fromFile[name].ReadOnlyBytes.SequenceEqual(t.ReadOnlyBytes), Is.True, name);
        }

        AssertBitwiseEqual(Run(config, layer, ckpt), Run(config, layer, new InMemoryTensorSource(tensors)));
    }

    [Test]
    public void Packed_fp4_is_stored_as_u8_and_ue8m0_scales_as_f8_e8m0()
    {
        var config = MoePresets.DeepSeekV4Tiny;
        var tensors = SyntheticCheckpoint.Create(config, 3, SyntheticFormat.Fp4);
        string path = Path.Combine(Dir, "fp4.safetensors");
        SafetensorsWriter.Write(path, tensors);
        string header = HeaderOf(File.ReadAllBytes(path));
        using var doc = JsonDocument.Parse(header);
        var root = doc.RootElement;
        const string p = "model.layers.3.mlp.";
        Assert.That(root.GetProperty(p + "experts.0.gate_proj.weight").GetProperty("dtype").GetString(), Is.EqualTo("U8"));
        Assert.That(root.GetProperty(p + "experts.0.gate_proj.weight").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()),
            Is.EqualTo(new long[] { 36, 20 }));
        Assert.That(root.GetProperty(p + "experts.0.gate_proj.scale").GetProperty("dtype").GetString(), Is.EqualTo("F8_E8M0"));
        Assert.That(root.GetProperty(p + "shared_experts.up_proj.weight").GetProperty("dtype").GetString(), Is.EqualTo("F8_E4M3"));
        Assert.That(root.GetProperty(p + "shared_experts.up_proj.weight_scale_inv").GetProperty("dtype").GetString(), Is.EqualTo("F8_E8M0"));
        Assert.That(root.GetProperty(p + "gate.e_score_correction_bias").GetProperty("dtype").GetString(), Is.EqualTo("F32"));
    }

    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";

    /// <summary>Splits the tensors over two shards (experts below E/2 and the router in the first) and writes the index.</summary>
    private void WriteSharded(Dictionary<string, HostTensor> tensors, int experts)
    {
        bool First(string name)
        {
            int at = name.IndexOf(".experts.", StringComparison.Ordinal);
            if (at < 0)
            {
                return name.Contains(".gate.", StringComparison.Ordinal);
            }

            string rest = name[(at + ".experts.".Length)..];
            return int.Parse(rest[..rest.IndexOf('.', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture) < experts / 2;
        }

        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in tensors.Keys) { map[name] = First(name) ? Shard1 : Shard2; }
        SafetensorsWriter.Write(Path.Combine(Dir, Shard1), tensors.Where(t => map[t.Key] == Shard1));
        SafetensorsWriter.Write(Path.Combine(Dir, Shard2), tensors.Where(t => map[t.Key] == Shard2));
        long total = tensors.Values.Sum(t => (long)t.ReadOnlyBytes.Length);
        File.WriteAllText(Path.Combine(Dir, SafetensorsCheckpoint.IndexFileName),
            JsonSerializer.Serialize(new { metadata = new { total_size = total }, weight_map = map }));
    }

    [TestCase("deepseek-v3-tiny", 2, SyntheticFormat.Fp8)]
    [TestCase("deepseek-v4-tiny", 3, SyntheticFormat.Fp4)]
    [TestCase("deepseek-v4-tiny", 1, SyntheticFormat.Fp4)]
    [TestCase("mixtral-tiny", 1, SyntheticFormat.F32)]
    public void Two_shard_checkpoint_with_an_index_runs_bitwise_like_the_in_memory_tensors(string preset, int layer, SyntheticFormat format)
    {
        var config = MoePresets.All[preset];
        var tensors = SyntheticCheckpoint.Create(config, layer, format);
        WriteSharded(tensors, config.Experts);

        using var ckpt = SafetensorsCheckpoint.Open(Dir);
        Assert.That(ckpt.Files, Has.Count.EqualTo(2));
        Assert.That(ckpt.Names, Is.EquivalentTo(tensors.Keys));
        string last = config.Family == MoeFamily.Mixtral
            ? $"model.layers.{layer}.block_sparse_moe.experts.{config.Experts - 1}.w2.weight"
            : $"model.layers.{layer}.mlp.experts.{config.Experts - 1}.down_proj.weight";
        Assert.That(Path.GetFileName(ckpt.FileOf(last).Path), Is.EqualTo(Shard2));
        AssertBitwiseEqual(Run(config, layer, ckpt, tokens: 7), Run(config, layer, new InMemoryTensorSource(tensors), tokens: 7));
    }

    private const string V4TinyConfig = """
        {
          "model_type": "deepseek_v4", "hidden_size": 40, "moe_intermediate_size": 36, "num_hidden_layers": 4,
          "n_routed_experts": 12, "n_shared_experts": 1, "num_experts_per_tok": 6, "scoring_func": "sqrtsoftplus",
          "routed_scaling_factor": 1.5, "norm_topk_prob": true, "num_hash_layers": 2, "swiglu_limit": 10.0, "vocab_size": 50
        }
        """;

    [Test]
    public void Config_json_and_i64_hash_table_from_a_checkpoint_folder()
    {
        // The real V4 checkpoint stores tid2eid as I64; the loader narrows it to i32 with the same routing.
        var tensors = SyntheticCheckpoint.Create(MoePresets.DeepSeekV4Tiny, 0, SyntheticFormat.Fp4);
        const string table = "model.layers.0.mlp.gate.tid2eid";
        var ids = tensors[table].ToI32();
        var wide = tensors.ToDictionary(t => t.Key, t => t.Value);
        wide[table] = new HostTensor(DType.I64, tensors[table].Shape, [.. ids.SelectMany(i => BitConverter.GetBytes((long)i))]);
        WriteSharded(wide, 12);
        File.WriteAllText(Path.Combine(Dir, "config.json"), V4TinyConfig);

        var config = HfConfigReader.ReadFile(Path.Combine(Dir, "config.json"));
        Assert.That(config, Is.EqualTo(MoePresets.DeepSeekV4Tiny));
        using var ckpt = SafetensorsCheckpoint.Open(Path.Combine(Dir, SafetensorsCheckpoint.IndexFileName));
        Assert.That(ckpt.Describe(table).Type, Is.EqualTo(DType.I64));
        AssertBitwiseEqual(Run(config, 0, ckpt), Run(config, 0, new InMemoryTensorSource(tensors)));
    }
}
