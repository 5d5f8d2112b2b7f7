using Accel.Types;
using N = Accel.Moe.MoeWeightNames;

namespace Accel.Moe;

/// <summary>How a synthetic checkpoint stores its expert weights.</summary>
public enum SyntheticFormat
{
    /// <summary>fp32.</summary>
    F32,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>FP8 e4m3 with f32 128x128 block scales (DeepSeek-V3 style).</summary>
    Fp8,
    /// <summary>Routed experts FP4 e2m1 with UE8M0 1x32 scales, shared expert FP8 with UE8M0 block scales (DeepSeek-V4 style).</summary>
    Fp4,
}

/// <summary>
/// Seeded random layer weights under their Hugging Face names, in a chosen storage format, so the
/// whole loading path is exercised (and can be written to a safetensors fixture).
/// </summary>
public static class SyntheticCheckpoint
{
    /// <summary>Creates the tensors of one layer's MoE block.</summary>
    public static Dictionary<string, HostTensor> Create(MoeConfig config, int layer, SyntheticFormat format, int seed = 1234)
    {
        var rng = new Random(seed);
        var t = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        string p = N.Prefix(config.Family, layer);
        t[p + "gate.weight"] = F32(rng, [config.Experts, config.Hidden], 1.0 / Math.Sqrt(config.Hidden));
        if (config.IsHashLayer(layer))
        {
            t[p + "gate.tid2eid"] = HashTable(rng, config);
        }
        else if (config.SelectionBias)
        {
            t[p + "gate.e_score_correction_bias"] = F32(rng, [config.Experts], 0.1);
        }

        for (int e = 0; e < config.Experts; e++)
        {
            foreach (string proj in N.Projections)
            {
                (int o, int i) = proj == "down" ? (config.Hidden, config.ExpertWidth) : (config.ExpertWidth, config.Hidden);
                Add(t, N.HfExpert(config.Family, layer, e, proj), rng, o, i, format, routed: true);
            }
        }

        if (config.SharedWidth > 0)
        {
            foreach (string proj in N.Projections)
            {
                (int o, int i) = proj == "down" ? (config.Hidden, config.SharedWidth) : (config.SharedWidth, config.Hidden);
                Add(t, N.HfShared(config.Family, layer, proj), rng, o, i, format, routed: false);
            }

            if (config.SharedExpertGate)
            {
                t[p + "shared_expert_gate.weight"] = F32(rng, [1, config.Hidden], 1.0 / Math.Sqrt(config.Hidden));
            }
        }

        return t;
    }

    /// <summary>Seeded activations [T, D] with values of order one.</summary>
    public static HostTensor Activations(int tokens, int hidden, int seed = 99)
    {
        var rng = new Random(seed);
        var v = new float[tokens * hidden];
        for (int i = 0; i < v.Length; i++) { v[i] = (float)(rng.NextDouble() * 2 - 1); }
        return HostTensor.FromF32(new Shape(tokens, hidden), v);
    }

    /// <summary>Seeded token ids [T] below <paramref name="vocab"/>.</summary>
    public static HostTensor TokenIds(int tokens, int vocab, int seed = 7)
    {
        var rng = new Random(seed);
        var v = new int[tokens];
        for (int i = 0; i < v.Length; i++) { v[i] = rng.Next(vocab); }
        return HostTensor.FromI32(new Shape(tokens), v);
    }

    private static void Add(Dictionary<string, HostTensor> t, string name, Random rng, int o, int i, SyntheticFormat format, bool routed)
    {
        var w = F32(rng, [o, i], 1.0 / Math.Sqrt(i)).ToF32();
        switch (format)
        {
            case SyntheticFormat.F32:
                t[name] = HostTensor.FromF32(new Shape(o, i), w);
                break;
            case SyntheticFormat.BF16:
                t[name] = BF16(new Shape(o, i), w);
                break;
            case SyntheticFormat.Fp8:
                (t[name], t[name + "_scale_inv"]) = Quantize.Fp8Blocks(w, o, i, powerOfTwoScales: false);
                break;
            case SyntheticFormat.Fp4 when routed && i % 2 == 0:
                (t[name], t[name[..^".weight".Length] + ".scale"]) = Quantize.Fp4Packed(w, o, i);
                break;
            case SyntheticFormat.Fp4:
                (t[name], t[name + "_scale_inv"]) = Quantize.Fp8Blocks(w, o, i, powerOfTwoScales: true);
                break;
        }
    }

    private static HostTensor HashTable(Random rng, MoeConfig c)
    {
        int vocab = c.Vocab > 0 ? c.Vocab : 64;
        var ids = new int[vocab * c.TopK];
        var perm = Enumerable.Range(0, c.Experts).ToArray();
        for (int v = 0; v < vocab; v++)
        {
            rng.Shuffle(perm);
            perm.AsSpan(0, c.TopK).CopyTo(ids.AsSpan(v * c.TopK));
        }

        return HostTensor.FromI32(new Shape(vocab, c.TopK), ids);
    }

    private static HostTensor F32(Random rng, long[] dims, double scale)
    {
        var shape = new Shape(dims);
        var v = new float[shape.Elements];
        for (int i = 0; i < v.Length; i++) { v[i] = (float)((rng.NextDouble() * 2 - 1) * scale * Math.Sqrt(3)); }
        return HostTensor.FromF32(shape, v);
    }

    private static HostTensor BF16(Shape shape, float[] w)
    {
        var h = HostTensor.Zeros(DType.BF16, shape);
        var s = h.AsSpan<ushort>();
        for (int k = 0; k < w.Length; k++) { s[k] = NumericFormats.F32ToBF16(w[k]); }
        return h;
    }
}
