using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Cli.Tests;

[NonParallelizable]
public sealed class MoeCommandTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "accel-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private static (int Code, string Out, string Err) Accel(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        using var o = new StringWriter();
        using var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        try
        {
            int code = Program.Main(args);
            return (code, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    private void Example(string preset, string format, int layer, int tokens = 4) =>
        Assert.That(Accel("example", "--preset", preset, "--format", format, "--layer", $"{layer}", "--tokens", $"{tokens}", "--dir", _dir).Code, Is.Zero);

    private (int Code, string Out, string Err) Moe(string output = "out.safetensors", int? layer = null, string? input = null)
    {
        var args = new List<string> { "moe", "--config", P("config.json"), "--weights", P("model.safetensors"),
            "--input", input ?? P("input.safetensors"), "--output", P(output) };
        if (layer is int l) { args.AddRange(["--layer", $"{l}"]); }
        return Accel([.. args]);
    }

    [TestCase("deepseek-v4-tiny", "Fp4", 3)]
    [TestCase("deepseek-v4-tiny", "Fp8", 0)]
    [TestCase("deepseek-v3-tiny", "Fp8", 2)]
    [TestCase("mixtral-tiny", "BF16", 1)]
    [TestCase("qwen2-moe-tiny", "F32", 0)]
    public void Moe_writes_the_layer_output_with_sorted_routing(string preset, string format, int layer)
    {
        Example(preset, format, layer, tokens: 6);
        var (code, _, err) = Moe(layer: layer);
        Assert.That(code, Is.Zero, err);
        using var result = SafetensorsFile.Open(P("out.safetensors"));
        Assert.That(result.Names, Is.EquivalentTo(new[] { "output", "topk_ids", "topk_weights" }));
        var config = MoePresets.All[preset];
        Assert.That(result.Describe("output").Shape, Is.EqualTo(new Shape(6, config.Hidden)));
        Assert.That(result.Describe("output").Type, Is.EqualTo(DType.F32));
        int[] ids = result.Read("topk_ids").ToI32();
        for (int r = 0; r < 6; r++)
        {
            var row = ids.Skip(r * config.TopK).Take(config.TopK).ToArray();
            Assert.That(row, Is.Ordered.Ascending.And.Unique);
        }

        Assert.That(Directory.GetFiles(_dir, "*.tmp"), Is.Empty);
    }

    [Test]
    public void Output_that_is_an_input_is_refused_before_any_work()
    {
        Example("deepseek-v4-tiny", "Fp8", 3);
        byte[] before = File.ReadAllBytes(P("input.safetensors"));
        var (code, _, err) = Moe(output: "input.safetensors", layer: 3);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("also an input"));
        Assert.That(File.ReadAllBytes(P("input.safetensors")), Is.EqualTo(before));
    }

    [Test]
    public void Output_in_a_missing_folder_is_refused()
    {
        Example("deepseek-v4-tiny", "Fp8", 3);
        var (code, _, err) = Moe(output: Path.Combine("missing", "out.safetensors"), layer: 3);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("does not exist"));
    }

    [Test]
    public void A_layer_the_checkpoint_does_not_hold_is_refused_with_the_layers_present()
    {
        Example("deepseek-v4-tiny", "Fp8", 3);
        var (code, _, err) = Moe(layer: 2);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("Layers present: 3"));
        Assert.That(File.Exists(P("out.safetensors")), Is.False);
    }

    [Test]
    public void A_truncated_checkpoint_is_a_clear_error_without_a_stack_trace()
    {
        Example("deepseek-v4-tiny", "Fp8", 3);
        byte[] bytes = File.ReadAllBytes(P("model.safetensors"));
        File.WriteAllBytes(P("model.safetensors"), bytes[..(bytes.Length / 2)]);
        var (code, _, err) = Moe(layer: 3);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.StartWith("error:").And.Contain("model.safetensors"));
        Assert.That(err, Does.Not.Contain("   at "));
    }

    [TestCase(float.NaN)]
    [TestCase(float.PositiveInfinity)]
    public void Non_finite_hidden_states_are_refused(float bad)
    {
        Example("deepseek-v4-tiny", "Fp8", 3);
        var x = SyntheticCheckpoint.Activations(3, MoePresets.DeepSeekV4Tiny.Hidden);
        x.AsSpan<float>()[5] = bad;
        SafetensorsWriter.Write(P("bad.safetensors"), new Dictionary<string, HostTensor> { ["hidden_states"] = x });
        var (code, _, err) = Moe(layer: 3, input: P("bad.safetensors"));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("hidden_states[0, 5]").And.Contain("finite"));
    }

    [Test]
    public void A_hash_layer_needs_token_ids_inside_the_table()
    {
        Example("deepseek-v4-tiny", "Fp8", 0);
        var x = SyntheticCheckpoint.Activations(2, MoePresets.DeepSeekV4Tiny.Hidden);
        SafetensorsWriter.Write(P("noids.safetensors"), new Dictionary<string, HostTensor> { ["hidden_states"] = x });
        var (code, _, err) = Moe(layer: 0, input: P("noids.safetensors"));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("hash layer").And.Contain("token_ids"));

        var ids = HostTensor.FromI32(new Shape(2), [1, MoePresets.DeepSeekV4Tiny.Vocab + 3]);
        SafetensorsWriter.Write(P("badids.safetensors"), new Dictionary<string, HostTensor> { ["hidden_states"] = x, ["token_ids"] = ids });
        (code, _, err) = Moe(layer: 0, input: P("badids.safetensors"));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("token_ids[1]").And.Contain("outside the hash table"));
    }

    [Test]
    public void A_config_that_contradicts_the_weights_is_refused()
    {
        Example("mixtral-tiny", "F32", 1);
        string json = File.ReadAllText(P("config.json")).Replace("\"hidden_size\": 32", "\"hidden_size\": 64");
        File.WriteAllText(P("config.json"), json);
        var (code, _, err) = Moe(layer: 1);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(err, Does.Contain("block_sparse_moe.gate.weight").And.Contain("[8, 64]"));
    }

    [Test]
    public void Every_verb_has_help()
    {
        foreach (string verb in new[] { "run", "moe", "devices", "example" })
        {
            var (code, output, _) = Accel(verb, "--help");
            Assert.That(code, Is.Zero, verb);
            Assert.That(output, Does.Contain("Usage:"), verb);
        }
    }
}
