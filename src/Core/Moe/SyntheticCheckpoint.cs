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
/// whole loading path is exercised (and can be written to a safetensors fixture). Each weight holds
/// uniform values with standard deviation 1/sqrt(fan-in) (the selection bias 0.1), made by a
/// counter-based generator from (seed, tensor name, element index) and quantised stripe by stripe
/// straight into its stored format, in parallel: the bytes depend on the seed only, not on the
/// thread count or order, and no f32 copy of a whole quantised tensor is ever made.
/// </summary>
public static class SyntheticCheckpoint
{
    /// <summary>Creates the tensors of one layer's MoE block, using every processor.</summary>
    public static Dictionary<string, HostTensor> Create(MoeConfig config, int layer, SyntheticFormat format, int seed = 1234) =>
        Create(config, layer, format, seed, maxParallelism: -1);

    /// <summary>Creates the tensors of one layer's MoE block with at most <paramref name="maxParallelism"/> threads (-1: no limit).</summary>
    public static Dictionary<string, HostTensor> Create(MoeConfig config, int layer, SyntheticFormat format, int seed, int maxParallelism)
    {
        ArgumentNullException.ThrowIfNull(config);
        var plan = Plan(config, layer, format);
        var t = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        var stored = new (HostTensor Weight, HostTensor? Scale)[plan.Count];
        var jobs = new List<(int Tensor, int Stripe)>();
        int widest = 1;
        for (int k = 0; k < plan.Count; k++)
        {
            stored[k] = plan[k].Allocate();
            t[plan[k].Name] = stored[k].Weight;
            if (plan[k].ScaleName is { } scaleName)
            {
                t[scaleName] = stored[k].Scale!;
            }

            widest = Math.Max(widest, plan[k].In);
            for (int s = 0; s < plan[k].Stripes; s++) { jobs.Add((k, s)); }
        }

        Parallel.For(0, jobs.Count, new ParallelOptions { MaxDegreeOfParallelism = maxParallelism },
            () => (Values: new float[Quantize.Fp8Block * widest], Scales: new float[widest / Quantize.Fp8Block + 1]),
            (j, _, scratch) =>
            {
                var (k, s) = jobs[j];
                plan[k].FillStripe(seed, s, stored[k].Weight, stored[k].Scale, scratch.Values, scratch.Scales);
                return scratch;
            },
            _ => { });

        if (config.IsHashLayer(layer))
        {
            t[N.Prefix(config.Family, layer) + "gate.tid2eid"] = HashTable(config, seed);
        }

        return t;
    }

    /// <summary>
    /// The weights <see cref="Create(MoeConfig, int, SyntheticFormat, int, int)"/> makes for this layer and format, with their storage and
    /// value spread (the hash table of a hash layer is not listed).
    /// </summary>
    public static IReadOnlyList<SyntheticTensor> Plan(MoeConfig config, int layer, SyntheticFormat format)
    {
        ArgumentNullException.ThrowIfNull(config);
        var plan = new List<SyntheticTensor>();
        string p = N.Prefix(config.Family, layer);
        plan.Add(new SyntheticTensor(p + "gate.weight", config.Experts, config.Hidden, SyntheticStorage.F32, 1.0 / Math.Sqrt(config.Hidden)));
        if (!config.IsHashLayer(layer) && config.SelectionBias)
        {
            plan.Add(new SyntheticTensor(p + "gate.e_score_correction_bias", 1, config.Experts, SyntheticStorage.F32, 0.1) { Vector = true });
        }

        for (int e = 0; e < config.Experts; e++)
        {
            foreach (string proj in N.Projections)
            {
                (int o, int i) = proj == "down" ? (config.Hidden, config.ExpertWidth) : (config.ExpertWidth, config.Hidden);
                plan.Add(new SyntheticTensor(N.HfExpert(config.Family, layer, e, proj), o, i, StorageOf(format, routed: true, i), 1.0 / Math.Sqrt(i)));
            }
        }

        if (config.SharedWidth > 0)
        {
            foreach (string proj in N.Projections)
            {
                (int o, int i) = proj == "down" ? (config.Hidden, config.SharedWidth) : (config.SharedWidth, config.Hidden);
                plan.Add(new SyntheticTensor(N.HfShared(config.Family, layer, proj), o, i, StorageOf(format, routed: false, i), 1.0 / Math.Sqrt(i)));
            }

            if (config.SharedExpertGate)
            {
                plan.Add(new SyntheticTensor(p + "shared_expert_gate.weight", 1, config.Hidden, SyntheticStorage.F32, 1.0 / Math.Sqrt(config.Hidden)));
            }
        }

        return plan;
    }

    /// <summary>Bytes <see cref="Create(MoeConfig, int, SyntheticFormat, int, int)"/> stores for this layer and format: weights, scales and any hash table.</summary>
    public static long StoredBytes(MoeConfig config, int layer, SyntheticFormat format)
    {
        long bytes = Plan(config, layer, format).Sum(t => t.DataBytes + t.ScaleBytes);
        return config.IsHashLayer(layer) ? bytes + 4L * (config.Vocab > 0 ? config.Vocab : 64) * config.TopK : bytes;
    }

    /// <summary>The storage of a weight: fp4 holds the routed experts only (with an even fan-in), the rest fp8 with UE8M0 scales.</summary>
    public static SyntheticStorage StorageOf(SyntheticFormat format, bool routed, int fanIn) => format switch
    {
        SyntheticFormat.F32 => SyntheticStorage.F32,
        SyntheticFormat.BF16 => SyntheticStorage.BF16,
        SyntheticFormat.Fp8 => SyntheticStorage.Fp8F32Scales,
        _ when routed && fanIn % 2 == 0 => SyntheticStorage.Fp4,
        _ => SyntheticStorage.Fp8Ue8m0Scales,
    };

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

    /// <summary>A hash layer's table [vocab, K]: each row K distinct experts, drawn by a partial shuffle from the counter generator.</summary>
    private static HostTensor HashTable(MoeConfig c, int seed)
    {
        int vocab = c.Vocab > 0 ? c.Vocab : 64;
        var ids = new int[vocab * c.TopK];
        var perm = Enumerable.Range(0, c.Experts).ToArray();
        ulong stream = CounterRandom.Stream(seed, "tid2eid");
        Span<int> swapped = stackalloc int[c.TopK];
        for (int v = 0; v < vocab; v++)
        {
            for (int j = 0; j < c.TopK; j++)
            {
                int pick = j + (int)(CounterRandom.Bits(stream, (long)v * c.TopK + j) % (ulong)(c.Experts - j));
                (perm[j], perm[pick]) = (perm[pick], perm[j]);
                swapped[j] = pick;
                ids[v * c.TopK + j] = perm[j];
            }

            for (int j = c.TopK - 1; j >= 0; j--)
            {
                (perm[j], perm[swapped[j]]) = (perm[swapped[j]], perm[j]);
            }
        }

        return HostTensor.FromI32(new Shape(vocab, c.TopK), ids);
    }
}
