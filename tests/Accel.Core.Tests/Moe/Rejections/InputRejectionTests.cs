using Accel.Backends.Reference;
using Accel.Errors;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Moe.Rejections;

/// <summary>Bad run inputs (hidden states, token ids) and bad layer construction, rejected by <see cref="MoeLayer"/>.</summary>
public sealed class InputRejectionTests
{
    private static readonly MoeConfig V3 = MoePresets.DeepSeekV3Tiny;
    private static readonly MoeConfig V4 = MoePresets.DeepSeekV4Tiny;

    private static ReferenceBackend _backend = null!;
    private static MoeLayer _v3 = null!;
    private static MoeLayer _hash = null!;

    [OneTimeSetUp]
    public static void Build()
    {
        _backend = new ReferenceBackend();
        _v3 = Layer(V3, 2);
        _hash = Layer(V4, 0);
    }

    [OneTimeTearDown]
    public static void Free()
    {
        _v3.Dispose();
        _hash.Dispose();
        _backend.Dispose();
    }

    private static MoeLayer Layer(MoeConfig c, int layer) => new(c, layer,
        MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(c, layer, SyntheticFormat.F32)), c, layer), [_backend]);

    private static HostTensor X(int tokens, int hidden) => SyntheticCheckpoint.Activations(tokens, hidden);

    private static HostTensor Ids(params int[] ids) => HostTensor.FromI32(new Shape(ids.Length), ids);

    private static string Rejects(MoeLayer layer, HostTensor x, HostTensor? ids = null) =>
        Assert.Catch<InvalidInputException>(() => layer.Run(x, ids))!.Message;

    [Test]
    public void Hash_layer_without_token_ids() =>
        Assert.That(Rejects(_hash, X(2, V4.Hidden)), Does.Contain("Layer 0 is a hash layer").And.Contain("num_hash_layers = 2")
            .And.Contain("needs token_ids"));

    [TestCase(50)]
    [TestCase(-1)]
    public void Token_id_outside_the_table(int id) =>
        Assert.That(Rejects(_hash, X(3, V4.Hidden), Ids(4, id, 7)),
            Does.Contain($"token_ids[1] = {id} is outside the hash table (0..49)"));

    [Test]
    public void Token_ids_of_the_wrong_length_or_dtype()
    {
        Assert.That(Rejects(_hash, X(3, V4.Hidden), Ids(1, 2)), Does.Contain("token_ids must be [3]").And.Contain("is [2]"));
        var floats = HostTensor.FromF32(new Shape(3), [1f, 2f, 3f]);
        Assert.That(Rejects(_hash, X(3, V4.Hidden), floats), Does.Contain("not an integer tensor").And.Contain("i32 or i64"));
    }

    [Test]
    public void I64_token_ids_are_accepted() =>
        Assert.That(_hash.Run(X(2, V4.Hidden), new HostTensor(DType.I64, new Shape(2), BitConverter.GetBytes(3L).Concat(BitConverter.GetBytes(49L)).ToArray()))
            .TopkIds.Shape, Is.EqualTo(new Shape(2, V4.TopK)));

    [TestCase(float.NaN, "NaN")]
    [TestCase(float.PositiveInfinity, "finite")]
    [TestCase(float.NegativeInfinity, "finite")]
    public void Non_finite_hidden_states(float bad, string word)
    {
        var v = X(3, V3.Hidden).AsSpan<float>().ToArray();
        v[1 * V3.Hidden + 2] = bad;
        var message = Rejects(_v3, HostTensor.FromF32(new Shape(3, V3.Hidden), v));
        Assert.That(message, Does.Contain("hidden_states[1, 2]").And.Contain(word).And.Contain("must be finite"));
    }

    [Test]
    public void Non_finite_bf16_hidden_states()
    {
        var h = HostTensor.Zeros(DType.BF16, new Shape(2, V3.Hidden));
        h.AsSpan<ushort>()[V3.Hidden + 5] = 0x7FC0; // bf16 NaN
        Assert.That(Rejects(_v3, h), Does.Contain("hidden_states[1, 5]").And.Contain("must be finite"));
    }

    [TestCase(47)]
    [TestCase(49)]
    public void Wrong_hidden_width(int width) =>
        Assert.That(Rejects(_v3, X(2, width)), Does.Contain("hidden_states must be [T, 48]").And.Contain($"is [2, {width}]"));

    [Test]
    public void Wrong_hidden_rank() =>
        Assert.That(Rejects(_v3, HostTensor.Zeros(DType.F32, new Shape(48))), Does.Contain("hidden_states must be [T, 48]").And.Contain("is [48]"));

    [TestCase(DType.I32)]
    [TestCase(DType.F8E4M3)]
    public void Wrong_hidden_dtype(DType type) =>
        Assert.That(Rejects(_v3, HostTensor.Zeros(type, new Shape(2, V3.Hidden))),
            Does.Contain("hidden_states must be f32, bf16 or f16").And.Contain($"is {type.ShortName()}"));

    [Test]
    public void F16_hidden_states_are_accepted()
    {
        var h = HostTensor.Zeros(DType.F16, new Shape(2, V3.Hidden));
        h.AsSpan<ushort>().Fill(0x3C00); // 1.0
        Assert.That(_v3.Run(h).Output.AsSpan<float>().ToArray().All(float.IsFinite), Is.True);
    }

    [Test]
    public void Layer_weights_missing_a_canonical_tensor()
    {
        var w = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(V3, 2, SyntheticFormat.F32)), V3, 2);
        w.Remove(MoeWeightNames.Experts("down"));
        var ex = Assert.Catch<InvalidInputException>(() => new MoeLayer(V3, 2, w, [_backend]))!;
        Assert.That(ex.Message, Does.Contain("lack 'experts.down.weight'"));
    }

    [Test]
    public void Layer_weight_of_the_wrong_shape_reaching_the_session()
    {
        var w = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(V3, 2, SyntheticFormat.F32)), V3, 2);
        w[MoeWeightNames.RouterBias] = HostTensor.Zeros(DType.F32, new Shape(17));
        var ex = Assert.Catch<AccelException>(() => new MoeLayer(V3, 2, w, [_backend]))!;
        Assert.That(ex.Message, Does.Contain("selection_bias").Or.Contain("router.bias"));
        Assert.That(ex.Message, Does.Contain("17"));
    }

    [Test]
    public void Hash_table_with_a_duplicate_reaching_the_op_directly()
    {
        // Bypassing the loader, the HashRoute op still checks the table row it reads.
        var w = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(V4, 0, SyntheticFormat.F32)), V4, 0);
        var table = w[MoeWeightNames.HashTable].ToI32();
        table[9 * V4.TopK + 1] = table[9 * V4.TopK];
        w[MoeWeightNames.HashTable] = HostTensor.FromI32(new Shape(V4.Vocab, V4.TopK), table);
        using var layer = new MoeLayer(V4, 0, w, [_backend]);
        Assert.That(Rejects(layer, X(2, V4.Hidden), Ids(1, 9)), Does.Contain("tid2eid row 9 names expert").And.Contain("twice"));
        Assert.That(layer.Run(X(1, V4.Hidden), Ids(8)).TopkIds.Shape, Is.EqualTo(new Shape(1, V4.TopK)));
    }
}
