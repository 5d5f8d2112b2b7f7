using Accel.Backends.Reference;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Native.Tests;

/// <summary>A session opened the way the C ABI opens one, run through accel_tensor descriptors.</summary>
public sealed unsafe class SessionTests
{
    private static readonly MoeConfig Config = MoePresets.Qwen2MoeTiny;

    private static NativeTensor Matrix(void* data, DType type, long rows, long cols)
    {
        var t = new NativeTensor { Data = data, DType = (int)type, NDim = 2 };
        t.Shape[0] = rows;
        t.Shape[1] = cols;
        return t;
    }

    [Test]
    public void A_session_from_named_tensors_runs_like_the_layer_and_is_released_once()
    {
        var tensors = SyntheticCheckpoint.Create(Config, 1, SyntheticFormat.F32);
        var settings = SessionSettings.Default with { Device = "reference", Layer = 1, Mode = SessionMode.Both };
        var session = NativeRuntime.Open(HfConfigWriter.ToJson(Config), tensors, settings);
        nint handle = NativeRuntime.Add(session);
        var x = SyntheticCheckpoint.Activations(3, Config.Hidden);
        using var backend = new ReferenceBackend();
        using var oracle = new MoeLayer(Config, 1, MoeWeightLoader.Load(new InMemoryTensorSource(tensors), Config, 1), [backend]);
        var expected = oracle.Run(x);

        float[] output = new float[3 * Config.Hidden], routed = new float[3 * Config.Hidden], gates = new float[3 * Config.TopK];
        long[] ids = new long[3 * Config.TopK];
        fixed (byte* px = x.Bytes)
        fixed (float* po = output, pr = routed, pg = gates)
        fixed (long* pi = ids)
        {
            var hidden = Matrix(px, DType.F32, 3, Config.Hidden);
            var o = Matrix(po, DType.F32, 3, Config.Hidden);
            var r = Matrix(pr, DType.F32, 3, Config.Hidden);
            var i = Matrix(pi, DType.I64, 3, Config.TopK);
            var g = Matrix(pg, DType.F32, 3, Config.TopK);
            NativeRuntime.Get(handle).Run(&hidden, null, &o, &i, &g);
            NativeRuntime.Get(handle).RunRouted(&hidden, &i, &g, &r);
        }

        Assert.That(output, Is.EqualTo(expected.Output.ToF32()));
        Assert.That(ids, Is.EqualTo(expected.TopkIds.ToI32().Select(v => (long)v).ToArray()));
        Assert.That(Metrics.Nmse(routed, output), Is.LessThanOrEqualTo(1e-12));
        Assert.That(NativeRuntime.Get(handle).Describe(), Does.Contain("\"device\":\"reference\"").And.Contain("\"mode\":\"both\""));

        NativeRuntime.Release(handle);
        Assert.That(Assert.Throws<NativeArgumentException>(() => NativeRuntime.Release(handle))!.Message, Does.Contain("released twice"));
        Assert.That(Assert.Throws<NativeArgumentException>(() => NativeRuntime.Get(0))!.Message, Does.Contain("session is NULL"));
    }

    [Test]
    public void Runs_of_changing_token_counts_each_match_the_layer()
    {
        // The session keeps its last input copy and result for the next run of the same token count;
        // runs of 3, 5 and 3 tokens (different inputs; f32, bf16 and f16, whose copies the session
        // converts into its kept fp32 tensor) must each get their own result.
        var tensors = SyntheticCheckpoint.Create(Config, 1, SyntheticFormat.F32);
        var session = NativeRuntime.Open(HfConfigWriter.ToJson(Config), tensors,
            SessionSettings.Default with { Device = "reference", Layer = 1, Mode = SessionMode.Both });
        using var backend = new ReferenceBackend();
        using var oracle = new MoeLayer(Config, 1, MoeWeightLoader.Load(new InMemoryTensorSource(tensors), Config, 1), [backend]);
        try
        {
            var runs = new[]
            {
                (3, 1, DType.F32), (5, 2, DType.F32), (3, 3, DType.F32), (3, 4, DType.BF16), (3, 3, DType.F32),
                (5, 5, DType.F16), (5, 6, DType.BF16), (5, 7, DType.F16), (3, 3, DType.F32),
            };
            foreach (var (tokens, seed, type) in runs)
            {
                var x = SyntheticCheckpoint.Activations(tokens, Config.Hidden, seed);
                if (type != DType.F32)
                {
                    Func<float, ushort> half = type == DType.BF16 ? NumericFormats.F32ToBF16 : NumericFormats.F32ToF16;
                    x = new HostTensor(type, x.Shape, [.. x.ToF32().SelectMany(v => BitConverter.GetBytes(half(v)))]);
                }

                var expected = oracle.Run(x);
                float[] output = new float[tokens * Config.Hidden], routed = new float[tokens * Config.Hidden];
                fixed (byte* px = x.Bytes)
                fixed (float* po = output, pr = routed)
                fixed (byte* pi = expected.TopkIds.Bytes, pg = expected.TopkWeights.Bytes)
                {
                    var hidden = Matrix(px, type, tokens, Config.Hidden);
                    var o = Matrix(po, DType.F32, tokens, Config.Hidden);
                    var r = Matrix(pr, DType.F32, tokens, Config.Hidden);
                    var i = Matrix(pi, DType.I32, tokens, Config.TopK);
                    var g = Matrix(pg, DType.F32, tokens, Config.TopK);
                    session.Run(&hidden, null, &o, null, null);
                    session.RunRouted(&hidden, &i, &g, &r);
                }

                Assert.That(output, Is.EqualTo(expected.Output.ToF32()), $"{tokens} tokens, seed {seed}, {type}");
                Assert.That(Metrics.Nmse(routed, output), Is.LessThanOrEqualTo(1e-12), $"routed, {tokens} tokens, seed {seed}");
            }
        }
        finally
        {
            session.Dispose();
        }
    }

    [Test]
    public void Missing_files_are_not_found_errors()
    {
        var e = Assert.Throws<FileNotFoundException>(() => NativeRuntime.ReadConfig("/nonexistent/config.json"));
        Assert.That(e!.Message, Does.Contain("/nonexistent/config.json").And.Contain("does not exist"));
        e = Assert.Throws<FileNotFoundException>(() => NativeRuntime.ReadConfig(Path.GetTempPath()));
        Assert.That(e!.Message, Does.Contain("is a folder"));
        Assert.That(NativeRuntime.ReadConfig(HfConfigWriter.ToJson(Config)).Experts, Is.EqualTo(Config.Experts), "JSON text is parsed, not opened");
    }
}
