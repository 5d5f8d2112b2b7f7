using Accel.Errors;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Moe.Rejections;

/// <summary>
/// Every way a checkpoint can disagree with its config or be incomplete, rejected by
/// <see cref="MoeWeightLoader.Load"/> with a message that names the tensor and what was expected.
/// </summary>
public sealed class CheckpointRejectionTests
{
    private static readonly MoeConfig V3 = MoePresets.DeepSeekV3Tiny;
    private static readonly MoeConfig V4 = MoePresets.DeepSeekV4Tiny;
    private const string P2 = "model.layers.2.mlp.";
    private const string P0 = "model.layers.0.mlp.";

    private static InvalidInputException Rejects(MoeConfig config, int layer, Dictionary<string, HostTensor> tensors) =>
        Assert.Catch<InvalidInputException>(() => MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, layer))!;

    private static Dictionary<string, HostTensor> V3Layer(SyntheticFormat format = SyntheticFormat.F32) =>
        SyntheticCheckpoint.Create(V3, 2, format);

    [Test]
    public void Config_hidden_size_contradicting_the_router_weight()
    {
        var ex = Rejects(V3 with { Hidden = 64 }, 2, V3Layer());
        Assert.That(ex, Is.TypeOf<ConfigException>());
        Assert.That(ex.Message, Does.Contain($"'{P2}gate.weight' has shape [16, 48]").And.Contain("implies [16, 64]")
            .And.Contain("hidden_size").And.Contain("config.json belongs to this checkpoint"));
    }

    [Test]
    public void Config_expert_count_contradicting_the_router_weight()
    {
        var ex = Rejects(V3 with { Experts = 8, Groups = 4 }, 2, V3Layer());
        Assert.That(ex.Message, Does.Contain("has shape [16, 48]").And.Contain("implies [8, 48]").And.Contain("n_routed_experts"));
    }

    [TestCase(SyntheticFormat.F32)]
    [TestCase(SyntheticFormat.Fp8)]
    public void Config_expert_width_contradicting_the_expert_weights(SyntheticFormat format)
    {
        var ex = Rejects(V3 with { ExpertWidth = 32, SharedWidth = 32 }, 2, V3Layer(format));
        Assert.That(ex, Is.TypeOf<ConfigException>());
        Assert.That(ex.Message, Does.Contain($"'{P2}experts.0.gate_proj.weight' has shape [40, 48]").And.Contain("implies [32, 48]"));
    }

    [Test]
    public void Missing_expert_tensor_is_named_with_its_expected_shape()
    {
        var t = V3Layer();
        t.Remove(P2 + "experts.5.up_proj.weight");
        var ex = Rejects(V3, 2, t);
        Assert.That(ex.Message, Does.Contain($"lacks the tensor '{P2}experts.5.up_proj.weight'").And.Contain("expected shape [40, 48]"));
    }

    [TestCase("shared_experts.down_proj.weight", "[48, 40]")]
    [TestCase("gate.weight", "")]
    public void Missing_other_tensors_are_named(string name, string shape)
    {
        var t = V3Layer();
        t.Remove(P2 + name);
        var ex = Rejects(V3, 2, t);
        Assert.That(ex.Message, Does.Contain($"'{P2}{name}'").And.Contain(shape));
    }

    [Test]
    public void Missing_qwen_shared_expert_gate()
    {
        var q = MoePresets.Qwen2MoeTiny;
        var t = SyntheticCheckpoint.Create(q, 1, SyntheticFormat.F32);
        t.Remove("model.layers.1.mlp.shared_expert_gate.weight");
        var ex = Rejects(q, 1, t);
        Assert.That(ex.Message, Does.Contain("'model.layers.1.mlp.shared_expert_gate.weight'").And.Contain("[1, 32]"));
    }

    [Test]
    public void Missing_v4_selection_bias()
    {
        var t = SyntheticCheckpoint.Create(V4, 3, SyntheticFormat.F32);
        t.Remove("model.layers.3.mlp.gate.e_score_correction_bias");
        var ex = Rejects(V4, 3, t);
        Assert.That(ex.Message, Does.Contain("'model.layers.3.mlp.gate.e_score_correction_bias'").And.Contain("selection bias"));
    }

    [Test]
    public void Misshapen_expert_tensor()
    {
        var t = V3Layer();
        t[P2 + "experts.3.down_proj.weight"] = HostTensor.Zeros(DType.F32, new Shape(48, 41));
        var ex = Rejects(V3, 2, t);
        Assert.That(ex.Message, Does.Contain($"'{P2}experts.3.down_proj.weight' has shape [48, 41]").And.Contain("implies [48, 40]"));
    }

    [Test]
    public void Misshapen_selection_bias()
    {
        var t = V3Layer();
        t[P2 + "gate.e_score_correction_bias"] = HostTensor.Zeros(DType.F32, new Shape(15));
        var ex = Rejects(V3, 2, t);
        Assert.That(ex.Message, Does.Contain("e_score_correction_bias' has shape [15]").And.Contain("implies [16]"));
    }

    [Test]
    public void Experts_of_one_projection_in_different_formats()
    {
        var t = V3Layer();
        t[P2 + "experts.4.gate_proj.weight"] = HostTensor.Zeros(DType.BF16, new Shape(40, 48));
        var ex = Rejects(V3, 2, t);
        Assert.That(ex.Message, Does.Contain("experts.4.gate_proj.weight' is stored as bf16").And.Contain("share one format"));
    }

    [Test]
    public void Expert_weight_in_an_unsupported_dtype()
    {
        var t = V3Layer();
        t[P2 + "experts.0.up_proj.weight"] = HostTensor.Zeros(DType.I32, new Shape(40, 48));
        var ex = Rejects(V3, 2, t);
        Assert.That(ex.Message, Does.Contain("experts.0.up_proj.weight' is stored as i32").And.Contain("must be f32, bf16, f16, f8e4m3"));
    }

    [Test]
    public void Router_weight_in_fp8_is_refused()
    {
        var t = V3Layer();
        t[P2 + "gate.weight"] = HostTensor.Zeros(DType.F8E4M3, new Shape(16, 48));
        var ex = Rejects(V3, 2, t);
        Assert.That(ex.Message, Does.Contain("router weight must be f32, bf16 or f16"));
    }

    [Test]
    public void FP8_weight_without_its_scale()
    {
        var t = V3Layer(SyntheticFormat.Fp8);
        t.Remove(P2 + "experts.3.gate_proj.weight_scale_inv");
        var ex = Rejects(V3, 2, t);
        Assert.That(ex.Message, Does.Contain($"FP8 weight '{P2}experts.3.gate_proj.weight' needs a block scale")
            .And.Contain("[1, 1]").And.Contain("none found"));
    }

    [Test]
    public void FP8_weight_with_a_misshapen_scale()
    {
        var t = V3Layer(SyntheticFormat.Fp8);
        t[P2 + "experts.3.gate_proj.weight_scale_inv"] = HostTensor.Zeros(DType.F32, new Shape(2, 1));
        var ex = Rejects(V3, 2, t);
        Assert.That(ex.Message, Does.Contain("needs a block scale").And.Contain("found").And.Contain("f32[2, 1]"));
    }

    [Test]
    public void FP4_weight_without_a_UE8M0_scale()
    {
        var t = SyntheticCheckpoint.Create(V4, 3, SyntheticFormat.Fp4);
        t.Remove("model.layers.3.mlp.experts.1.down_proj.scale");
        var ex = Rejects(V4, 3, t);
        Assert.That(ex.Message, Does.Contain("'model.layers.3.mlp.experts.1.down_proj.weight' looks like packed FP4")
            .And.Contain("no UE8M0 scale of shape [40, 2]").And.Contain("none found"));
    }

    [Test]
    public void FP4_weight_with_an_f32_scale()
    {
        var t = SyntheticCheckpoint.Create(V4, 3, SyntheticFormat.Fp4);
        t["model.layers.3.mlp.experts.1.down_proj.scale"] = HostTensor.Zeros(DType.F32, new Shape(40, 2));
        var ex = Rejects(V4, 3, t);
        Assert.That(ex.Message, Does.Contain("looks like packed FP4").And.Contain("no UE8M0 scale").And.Contain("f32[40, 2]"));
    }

    [Test]
    public void Layer_not_in_the_checkpoint_lists_the_layers_present()
    {
        var t = V3Layer();
        foreach (var (k, v) in SyntheticCheckpoint.Create(V3, 1, SyntheticFormat.F32)) { t[k] = v; }
        var ex = Rejects(V3, 3, t);
        Assert.That(ex, Is.TypeOf<ConfigException>());
        Assert.That(ex.Message, Does.Contain("no MoE block for layer 3").And.Contain("'model.layers.3.mlp.gate.weight'")
            .And.Contain("Layers present: 1, 2."));
    }

    [Test]
    public void Layer_beyond_the_config()
    {
        var ex = Rejects(V3, 7, V3Layer());
        Assert.That(ex.Message, Does.Contain("Layer 7 does not exist").And.Contain("4 layers (0..3)"));
    }

    [Test]
    public void Dense_layer_requested()
    {
        var ex = Rejects(V3, 0, V3Layer());
        Assert.That(ex, Is.TypeOf<ConfigException>());
        Assert.That(ex.Message, Does.Contain("Layer 0 is a dense layer").And.Contain("first_k_dense_replace = 1"));
    }

    [Test]
    public void Hash_layer_without_its_table()
    {
        var t = SyntheticCheckpoint.Create(V4, 0, SyntheticFormat.F32);
        t.Remove(P0 + "gate.tid2eid");
        var ex = Rejects(V4, 0, t);
        Assert.That(ex.Message, Does.Contain($"'{P0}gate.tid2eid'").And.Contain("hash layer").And.Contain("num_hash_layers = 2"));
    }

    private static Dictionary<string, HostTensor> WithTableEntry(int row, int column, int value)
    {
        var t = SyntheticCheckpoint.Create(V4, 0, SyntheticFormat.F32);
        var table = t[P0 + "gate.tid2eid"].ToI32();
        table[row * V4.TopK + column] = value;
        t[P0 + "gate.tid2eid"] = HostTensor.FromI32(new Shape(V4.Vocab, V4.TopK), table);
        return t;
    }

    [Test]
    public void Hash_table_with_a_duplicate_expert()
    {
        var t = SyntheticCheckpoint.Create(V4, 0, SyntheticFormat.F32);
        int first = t[P0 + "gate.tid2eid"].ToI32()[3 * V4.TopK];
        var ex = Rejects(V4, 0, WithTableEntry(3, 4, first));
        Assert.That(ex.Message, Does.Contain($"row 3 names expert {first} twice").And.Contain("6 distinct experts"));
    }

    [TestCase(12)]
    [TestCase(-1)]
    public void Hash_table_with_an_expert_id_out_of_range(int id)
    {
        var ex = Rejects(V4, 0, WithTableEntry(5, 2, id));
        Assert.That(ex.Message, Does.Contain($"'{P0}gate.tid2eid'[5, 2] = {id} is not an expert id (0..11)"));
    }

    [Test]
    public void Hash_table_with_the_wrong_shape_or_dtype()
    {
        var t = SyntheticCheckpoint.Create(V4, 0, SyntheticFormat.F32);
        t[P0 + "gate.tid2eid"] = HostTensor.Zeros(DType.I32, new Shape(50, 5));
        Assert.That(Rejects(V4, 0, t).Message, Does.Contain("has shape [50, 5]").And.Contain("[50, 6]").And.Contain("vocab_size"));
        t[P0 + "gate.tid2eid"] = HostTensor.Zeros(DType.F32, new Shape(50, 6));
        Assert.That(Rejects(V4, 0, t).Message, Does.Contain("is f32").And.Contain("must be i32 or i64"));
    }
}
