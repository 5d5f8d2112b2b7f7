using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance.Cases;

/// <summary>Cases of the expert computation: GroupedGemm, SwiGlu, SharedExpert.</summary>
internal static class ExpertCases
{
    /// <summary>
    /// GEMM shapes (input width d, output width i): one below a tile, one prime or partial. FP8
    /// blocks are 128x128 and FP4 blocks 1x32, so 136x200 leaves partial FP8 blocks on both axes
    /// and 130 a partial FP4 block; FP4 needs an even input width.
    /// </summary>
    private static (int D, int I, int Align, string Routing)[] GemmShapes(string type) => type switch
    {
        Gen.Fp8 or Gen.Fp8Ue8m0 => [(96, 48, 1, "uniform"), (136, 200, 16, "skewed")],
        Gen.Fp4 => [(96, 48, 1, "uniform"), (130, 53, 16, "skewed")],
        _ => [(96, 48, 1, "uniform"), (131, 53, 16, "skewed")],
    };

    /// <summary>The cases.</summary>
    public static IEnumerable<ConformanceCase> All()
    {
        foreach (string type in Gen.GemmTypes)
        {
            foreach (int t in RouterCases.Tokens)
            {
                foreach (var (d, i, align, routing) in GemmShapes(type))
                {
                    yield return new("GroupedGemm", type, ("experts", 16), ("k", 4), ("tokens", t), ("d", d), ("i", i), ("align", align),
                        ("routing", routing))
                    {
                        Quick = t == 37 && align == 16 && type is Gen.Fp8 or Gen.Fp4,
                    };
                }

                foreach (var (d, inner, gated, limit) in new[] { (96, 48, false, (float?)null), (130, 66, true, 10f) })
                {
                    yield return new("SharedExpert", type, ("tokens", t), ("d", d), ("is", inner), ("gate", gated), ("limit", limit))
                    {
                        Quick = t == 37 && gated && type == Gen.Fp8Ue8m0,
                    };
                }
            }
        }

        foreach (int t in RouterCases.Tokens)
        {
            foreach (var (i, limit, weighted, align, routing) in new[]
            {
                (48, (float?)null, false, 1, "uniform"), (53, 10f, false, 1, "uniform"), (53, 10f, true, 16, "skewed"),
            })
            {
                yield return new("SwiGlu", "f32", ("tokens", t), ("experts", 16), ("k", 4), ("i", i), ("limit", limit), ("weighted", weighted),
                    ("align", align), ("routing", routing))
                {
                    Quick = t == 37 && weighted,
                };
            }
        }

        yield return new("GroupedGemm", Gen.Fp8, ("experts", 32), ("k", 8), ("tokens", 256), ("d", 512), ("i", 384), ("align", 16),
            ("routing", "skewed")) { Slow = true };
        yield return new("GroupedGemm", "bf16", ("experts", 64), ("k", 6), ("tokens", 509), ("d", 257), ("i", 256), ("align", 1),
            ("routing", "uniform")) { Slow = true };
        yield return new("SharedExpert", Gen.Fp4, ("tokens", 512), ("d", 512), ("is", 256), ("gate", false), ("limit", 10f)) { Slow = true };
    }

    /// <summary>Builds the problem of a case.</summary>
    public static CaseProblem Build(ConformanceCase c, CaseRandom rng)
    {
        var b = new ProblemBuilder(rng);
        int t = c.Int("tokens");
        double gemmTolerance = Gen.IsQuantized(c.Type) ? Tolerances.QuantizedGemm : Tolerances.Reduction;
        switch (c.Op)
        {
            case OpKind.GroupedGemm:
                {
                    int e = c.Int("experts"), k = c.Int("k"), d = c.Int("d"), i = c.Int("i"), align = c.Int("align");
                    var (ptt, off) = Dispatch(c, rng, t, e, k, align);
                    var rows = b.Input("rows", Gen.Rows(rng, ptt, d, -1, 1), OpSignatures.PaddedRows(Dim.Tokens, k, e, align));
                    var (w, s) = Gen.Projection(rng, c.Type, e, i, d, stacked: true);
                    var weight = b.Weight("weight", w);
                    var scale = b.OptionalWeight("weight_scale", s);
                    var offsets = b.Input("offsets", Gen.I32(off, e + 1));
                    b.Nmse(b.G.GroupedGemm("grouped_gemm", rows, weight, scale, offsets), gemmTolerance);
                    break;
                }

            case OpKind.SwiGlu:
                {
                    int e = c.Int("experts"), k = c.Int("k"), i = c.Int("i"), align = c.Int("align");
                    var ids = Gen.Routing(rng, t, e, k, c.Text("routing"));
                    var off = Gen.Offsets(ids, e, align);
                    int n = Gen.PaddedRows(t, k, e, align);
                    var (ptt, pts, _) = Gen.Layout(ids, off, k, n);
                    var rowsDim = OpSignatures.PaddedRows(Dim.Tokens, k, e, align);
                    var gate = b.Input("gate", Gen.Rows(rng, ptt, i, -15, 15), rowsDim);
                    var up = b.Input("up", Gen.Rows(rng, ptt, i, -15, 15), rowsDim);
                    Value? w = null, p2t = null, p2s = null;
                    if (c.Flag("weighted"))
                    {
                        w = b.Input("route_weights", Gen.F32(rng, 0, 1, t, k), Dim.Tokens);
                        p2t = b.Input("pos_to_token", Gen.I32(ptt, n), rowsDim);
                        p2s = b.Input("pos_to_slot", Gen.I32(pts, n), rowsDim);
                    }

                    b.Nmse(b.G.SwiGlu("swiglu", gate, up, c.Float("limit"), w, p2t, p2s), Tolerances.Elementwise);
                    break;
                }

            case OpKind.SharedExpert:
                {
                    int d = c.Int("d"), inner = c.Int("is");
                    var x = b.Input("x", Gen.F32(rng, -1, 1, t, d), Dim.Tokens);
                    ProjectionWeights P(string name, int o, int i)
                    {
                        var (w, s) = Gen.Projection(rng, c.Type, 1, o, i, stacked: false);
                        return new(b.Weight(name, w), b.OptionalWeight(name + "_scale", s));
                    }

                    var gate = P("gate_weight", inner, d);
                    var up = P("up_weight", inner, d);
                    var down = P("down_weight", d, inner);
                    var expertGate = c.Flag("gate") ? b.Weight("expert_gate", Gen.F32(rng, -0.2f, 0.2f, 1, d)) : null;
                    b.Nmse(b.G.SharedExpert("shared_expert", x, gate, up, down, c.Float("limit"), expertGate), gemmTolerance);
                    break;
                }

            default:
                throw new ArgumentException($"{c.Id} is not an expert case.", nameof(c));
        }

        return b.Build();
    }

    private static (int[] PosToToken, int[] Offsets) Dispatch(ConformanceCase c, CaseRandom rng, int t, int e, int k, int align)
    {
        var ids = Gen.Routing(rng, t, e, k, c.Text("routing"));
        var off = Gen.Offsets(ids, e, align);
        var (ptt, _, _) = Gen.Layout(ids, off, k, Gen.PaddedRows(t, k, e, align));
        return (ptt, off);
    }
}
