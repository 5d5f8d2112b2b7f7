using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance.Cases;

/// <summary>Collects a one-node graph, its generated weights and inputs, and its checks.</summary>
internal sealed class ProblemBuilder(CaseRandom rng)
{
    private readonly Dictionary<string, HostTensor> _inputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HostTensor> _weights = new(StringComparer.Ordinal);
    private readonly List<OutputCheck> _checks = [];

    /// <summary>The graph under construction.</summary>
    public GraphBuilder G { get; } = new();

    /// <summary>The case's random source.</summary>
    public CaseRandom Rng => rng;

    /// <summary>Declares a per-run input; <paramref name="lead"/> makes the first axis depend on T.</summary>
    public Value Input(string name, HostTensor data, Dim? lead = null)
    {
        var dims = data.Shape.Select(d => Dim.Of(d)).ToArray();
        if (lead is Dim l)
        {
            dims[0] = l;
        }

        _inputs[name] = data;
        return G.Input(name, data.Type, dims);
    }

    /// <summary>Declares a weight fed once per session.</summary>
    public Value Weight(string name, HostTensor data)
    {
        _weights[name] = data;
        return G.Weight(name, data.Type, [.. data.Shape]);
    }

    /// <summary>Declares a weight when <paramref name="data"/> is not null.</summary>
    public Value? OptionalWeight(string name, HostTensor? data) => data is null ? null : Weight(name, data);

    /// <summary>Marks <paramref name="value"/> as an output compared by NMSE.</summary>
    public void Nmse(Value value, double tolerance) => Check(value, new NmseCheck(value.Name, tolerance));

    /// <summary>Marks <paramref name="value"/> as an output compared exactly.</summary>
    public void Exact(Value value) => Check(value, new ExactCheck(value.Name));

    /// <summary>Marks <paramref name="value"/> as an output with its check.</summary>
    public void Check(Value value, OutputCheck check)
    {
        G.Output(value);
        _checks.Add(check);
    }

    /// <summary>Finishes the problem.</summary>
    public CaseProblem Build(RoutingMargin? margin = null) => new()
    {
        Graph = G.Build(),
        Weights = _weights,
        Inputs = _inputs,
        Checks = _checks,
        Margin = margin,
    };
}

/// <summary>Seeded tensors: activations, weights in every storage format, routing and its derived tables.</summary>
internal static class Gen
{
    /// <summary>The dtype labels of weights: plain, and the quantised formats with their scale format.</summary>
    public const string Fp8 = "f8e4m3", Fp8Ue8m0 = "f8e4m3-ue8m0", Fp4 = "f4e2m1";

    /// <summary>Plain float weight types.</summary>
    public static readonly string[] FloatTypes = ["f32", "f16", "bf16"];

    /// <summary>Every weight type a GEMM takes.</summary>
    public static readonly string[] GemmTypes = ["f32", "f16", "bf16", Fp8, Fp8Ue8m0, Fp4];

    /// <summary>True for FP8/FP4 weight labels.</summary>
    public static bool IsQuantized(string type) => type is Fp8 or Fp8Ue8m0 or Fp4;

    /// <summary>An f32 tensor of values uniform in [lo, hi).</summary>
    public static HostTensor F32(CaseRandom rng, float lo, float hi, params long[] dims)
    {
        var shape = new Shape(dims);
        return HostTensor.FromF32(shape, rng.Floats(shape.Elements, lo, hi));
    }

    /// <summary>An i32 tensor.</summary>
    public static HostTensor I32(int[] values, params long[] dims) => HostTensor.FromI32(new Shape(dims), values);

    /// <summary>fp32 values stored as f32, f16 or bf16.</summary>
    public static HostTensor Float(float[] values, string type, params long[] dims)
    {
        var shape = new Shape(dims);
        switch (type)
        {
            case "f32": return HostTensor.FromF32(shape, values);
            case "f16" or "bf16":
                {
                    var h = HostTensor.Zeros(type == "f16" ? DType.F16 : DType.BF16, shape);
                    NumericFormats.F32ToHalfBits(values, h.AsSpan<ushort>(), h.Type);
                    return h;
                }

            default: throw new ArgumentException($"'{type}' is not a plain float type.", nameof(type));
        }
    }

    /// <summary>
    /// A projection weight [E, out, in] (or [out, in] when <paramref name="stacked"/> is false) of
    /// RMS about sqrt(3 / in). Float types hold U(-a, a) values. FP8 and FP4 weights hold random
    /// codes (every e4m3 code but NaN, every e2m1 nibble) and a random scale per block spanning
    /// 2^-3 to 2^3 around the base, so a device that reads the scale of the wrong block, or
    /// mishandles a partial block, is far off rather than nearly right.
    /// </summary>
    public static (HostTensor Weight, HostTensor? Scale) Projection(CaseRandom rng, string type, int experts, int o, int i, bool stacked)
    {
        float a = MathF.Sqrt(3f / Math.Max(i, 1));
        long[] dims = stacked ? [experts, o, i] : [o, i];
        long elements = (long)experts * o * i;
        if (!IsQuantized(type))
        {
            return (Float(rng.Floats(elements, -a, a), type, dims), null);
        }

        if (type == Fp4)
        {
            var packed = new byte[elements / 2];
            for (int k = 0; k < packed.Length; k++) { packed[k] = (byte)rng.Next(256); }
            int blocks = (i + 31) / 32;
            var scales = Ue8m0(rng, (long)experts * o * blocks, a / 2.93f);
            long[] sdims = stacked ? [experts, o, blocks] : [o, blocks];
            return (new HostTensor(DType.F4E2M1, new Shape(dims), packed), new HostTensor(DType.UE8M0, new Shape(sdims), scales));
        }

        var codes = new byte[elements];
        for (long k = 0; k < elements; k++)
        {
            byte b;
            do { b = (byte)rng.Next(256); } while ((b & 0x7F) == 0x7F);
            codes[k] = b;
        }

        int bo = (o + 127) / 128, bi = (i + 127) / 128;
        long[] bdims = stacked ? [experts, bo, bi] : [bo, bi];
        long count = (long)experts * bo * bi;
        float rms = a / 95f; // the RMS of a uniformly drawn e4m3 code is about 95
        var scale = type == Fp8Ue8m0
            ? new HostTensor(DType.UE8M0, new Shape(bdims), Ue8m0(rng, count, rms))
            : HostTensor.FromF32(new Shape(bdims), Enumerable.Range(0, (int)count)
                .Select(_ => rms * MathF.ScaleB(1f, rng.Next(7) - 3) * rng.Uniform(0.75f, 1.25f)).ToArray());
        return (new HostTensor(DType.F8E4M3, new Shape(dims), codes), scale);
    }

    private static byte[] Ue8m0(CaseRandom rng, long count, float around)
    {
        int center = 127 + (int)MathF.Round(MathF.Log2(around));
        var s = new byte[count];
        for (long k = 0; k < count; k++) { s[k] = (byte)(center + rng.Next(7) - 3); }
        return s;
    }

    /// <summary>
    /// Expert ids [T, K], distinct per token. <c>uniform</c>: any K experts; <c>skewed</c>: drawn
    /// with weight 1/(1+e)^2 from the first half of the experts, so the rest get no tokens;
    /// <c>one</c>: every token picks the same K experts.
    /// </summary>
    public static int[] Routing(CaseRandom rng, int tokens, int experts, int k, string mode)
    {
        var ids = new int[tokens * k];
        int pool = mode == "skewed" ? Math.Max(k, (experts + 1) / 2) : experts;
        var all = Enumerable.Range(0, experts).ToArray();
        for (int t = 0; t < tokens; t++)
        {
            var row = ids.AsSpan(t * k, k);
            switch (mode)
            {
                case "one":
                    all.AsSpan(0, k).CopyTo(row);
                    rng.Shuffle(row);
                    break;
                case "skewed":
                    for (int j = 0; j < k; j++)
                    {
                        int e;
                        do
                        {
                            e = Math.Min(pool - 1, (int)(pool * Math.Pow(rng.NextDouble(), 3)));
                        }
                        while (row[..j].Contains(e));
                        row[j] = e;
                    }

                    break;
                default:
                    rng.Shuffle(all.AsSpan());
                    all.AsSpan(0, k).CopyTo(row);
                    break;
            }
        }

        return ids;
    }

    /// <summary>Rows of a segment-padded buffer: T*K + E*(A-1).</summary>
    public static int PaddedRows(int tokens, int k, int experts, int align) => tokens * k + experts * (align - 1);

    /// <summary>Segment offsets [E+1] of <paramref name="ids"/> with each count rounded up to <paramref name="align"/>.</summary>
    public static int[] Offsets(int[] ids, int experts, int align)
    {
        var counts = new int[experts];
        foreach (int e in ids) { counts[e]++; }
        var off = new int[experts + 1];
        for (int e = 0; e < experts; e++) { off[e + 1] = off[e] + (counts[e] + align - 1) / align * align; }
        return off;
    }

    /// <summary>The expert-major layout: pos_to_token, pos_to_slot (-1 on padding) and token_slot_to_pos, in ascending (t, j).</summary>
    public static (int[] PosToToken, int[] PosToSlot, int[] TokenSlotToPos) Layout(int[] ids, int[] offsets, int k, int rows)
    {
        var ptt = Enumerable.Repeat(-1, rows).ToArray();
        var pts = Enumerable.Repeat(-1, rows).ToArray();
        var tsp = new int[ids.Length];
        var fill = new int[offsets.Length - 1];
        for (int p = 0; p < ids.Length; p++)
        {
            int r = offsets[ids[p]] + fill[ids[p]]++;
            ptt[r] = p / k;
            pts[r] = p % k;
            tsp[p] = r;
        }

        return (ptt, pts, tsp);
    }

    /// <summary>Rows [rows, width] of values in [lo, hi) where pos_to_token is set, zero on padding rows (as Permute leaves them).</summary>
    public static HostTensor Rows(CaseRandom rng, int[] posToToken, int width, float lo, float hi)
    {
        var v = new float[posToToken.Length * width];
        for (int r = 0; r < posToToken.Length; r++)
        {
            if (posToToken[r] >= 0)
            {
                for (int c = 0; c < width; c++) { v[r * width + c] = rng.Uniform(lo, hi); }
            }
        }

        return HostTensor.FromF32(new Shape(posToToken.Length, width), v);
    }
}
