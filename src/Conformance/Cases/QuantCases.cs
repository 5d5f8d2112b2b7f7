using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance.Cases;

/// <summary>Cases of the quantisation ops: DequantFp8Block, DequantFp4, ActQuantFp8.</summary>
internal static class QuantCases
{
    /// <summary>The cases.</summary>
    public static IEnumerable<ConformanceCase> All()
    {
        foreach (string type in new[] { Gen.Fp8, Gen.Fp8Ue8m0 })
        {
            foreach (var (e, o, i) in new[] { (0, 200, 136), (0, 128, 256), (3, 130, 260) })
            {
                yield return new("DequantFp8Block", type, ("experts", e), ("out", o), ("in", i)) { Quick = type == Gen.Fp8 && e == 3 };
            }
        }

        foreach (var (e, o, i) in new[] { (0, 53, 130), (0, 64, 256), (3, 20, 66) })
        {
            yield return new("DequantFp4", Gen.Fp4, ("experts", e), ("out", o), ("in", i)) { Quick = e == 3 };
        }

        foreach (bool pow2 in new[] { false, true })
        {
            foreach (int t in RouterCases.Tokens)
            {
                yield return new("ActQuantFp8", "f32", ("pow2", pow2), ("tokens", t), ("cols", pow2 ? 384 : 128)) { Quick = pow2 && t == 37 };
            }
        }

        yield return new("DequantFp8Block", Gen.Fp8, ("experts", 8), ("out", 1024), ("in", 520)) { Slow = true };
    }

    /// <summary>Builds the problem of a case.</summary>
    public static CaseProblem Build(ConformanceCase c, CaseRandom rng)
    {
        var b = new ProblemBuilder(rng);
        switch (c.Op)
        {
            case OpKind.DequantFp8Block or OpKind.DequantFp4:
                {
                    int e = c.Int("experts"), o = c.Int("out"), i = c.Int("in");
                    var (w, s) = Gen.Projection(rng, c.Type, Math.Max(e, 1), o, i, stacked: e > 0);
                    var weight = b.Weight("weight", w);
                    var scale = b.Weight("scale", s!);
                    var result = c.Op == OpKind.DequantFp4
                        ? b.G.DequantFp4("dequant", weight, scale)
                        : b.G.DequantFp8Block("dequant", weight, scale);
                    b.Nmse(result, Tolerances.Elementwise);
                    break;
                }

            case OpKind.ActQuantFp8:
                {
                    int t = c.Int("tokens"), cols = c.Int("cols");
                    var x = Gen.F32(rng, -3, 3, t, cols);
                    var v = x.AsSpan<float>();
                    if (t > 1)
                    {
                        v[..cols].Clear();                 // an all-zero row: the 1e-4 amax floor
                        v.Slice(cols, cols).Fill(1e-6f);   // a row below the floor
                        v[2 * cols] = 1000f;               // one large value in a block
                    }

                    var input = b.Input("x", x, Dim.Tokens);
                    var (q, scale) = b.G.ActQuantFp8("act_quant", input, c.Flag("pow2"));
                    b.Check(q, new Fp8CodesCheck(q.Name, Tolerances.Fp8Codes));
                    b.Nmse(scale, Tolerances.Elementwise);
                    break;
                }

            default:
                throw new ArgumentException($"{c.Id} is not a quantisation case.", nameof(c));
        }

        return b.Build();
    }
}
