using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance.Cases;

/// <summary>Cases of the dense and elementwise ops: RmsNorm, RouterGemm, RouterScore, SelectionBias, Add.</summary>
internal static class RouterCases
{
    /// <summary>Token counts every op is tested with: empty, one, and a prime.</summary>
    public static readonly int[] Tokens = [0, 1, 37];

    /// <summary>The cases.</summary>
    public static IEnumerable<ConformanceCase> All()
    {
        foreach (string type in Gen.FloatTypes)
        {
            foreach (int t in Tokens)
            {
                foreach (int d in new[] { 96, 131 })
                {
                    yield return new("RmsNorm", type, ("tokens", t), ("d", d)) { Quick = type == "f32" && t == 37 && d == 131 };
                }

                foreach (var (e, d) in new[] { (16, 96), (61, 131) })
                {
                    yield return new("RouterGemm", type, ("tokens", t), ("experts", e), ("d", d))
                    {
                        Quick = type == "bf16" && t == 37 && e == 61,
                    };
                }
            }
        }

        yield return new("RmsNorm", "bf16", ("tokens", 1024), ("d", 4096)) { Slow = true };
        yield return new("RouterGemm", "bf16", ("tokens", 512), ("experts", 256), ("d", 2048)) { Slow = true };

        foreach (var func in Enum.GetValues<ScoreFunc>())
        {
            foreach (int t in Tokens)
            {
                foreach (var (e, range) in new[] { (16, 4), (61, 30) })
                {
                    yield return new("RouterScore", "f32", ("func", func), ("tokens", t), ("experts", e), ("range", range))
                    {
                        Quick = func == ScoreFunc.SqrtSoftplus && t == 37 && range == 30,
                    };
                }
            }
        }

        yield return new("RouterScore", "f32", ("func", ScoreFunc.Softmax), ("tokens", 2048), ("experts", 256), ("range", 8)) { Slow = true };
        foreach (int t in Tokens)
        {
            foreach (int e in new[] { 16, 61 })
            {
                yield return new("SelectionBias", "f32", ("tokens", t), ("experts", e)) { Quick = t == 37 && e == 61 };
            }

            foreach (int d in new[] { 96, 131 })
            {
                yield return new("Add", "f32", ("tokens", t), ("d", d)) { Quick = t == 37 && d == 131 };
            }
        }
    }

    /// <summary>Builds the problem of a case.</summary>
    public static CaseProblem Build(ConformanceCase c, CaseRandom rng)
    {
        var b = new ProblemBuilder(rng);
        int t = c.Int("tokens");
        switch (c.Op)
        {
            case OpKind.RmsNorm:
                {
                    int d = c.Int("d");
                    var x = b.Input("x", Gen.F32(rng, -2, 2, t, d), Dim.Tokens);
                    var w = b.Weight("weight", Gen.Float(rng.Floats(d, 0.5f, 1.5f), c.Type, d));
                    b.Nmse(b.G.RmsNorm("rms_norm", x, w), Tolerances.Reduction);
                    break;
                }

            case OpKind.RouterGemm:
                {
                    int d = c.Int("d"), e = c.Int("experts");
                    var x = b.Input("x", Gen.F32(rng, -1, 1, t, d), Dim.Tokens);
                    var w = b.Weight("router_weight", Gen.Projection(rng, c.Type, 1, e, d, stacked: false).Weight);
                    b.Nmse(b.G.RouterGemm("router_gemm", x, w), Tolerances.Reduction);
                    break;
                }

            case OpKind.RouterScore:
                {
                    int e = c.Int("experts"), range = c.Int("range");
                    var func = Enum.Parse<ScoreFunc>(c.Text("func"), ignoreCase: true);
                    var z = b.Input("logits", Gen.F32(rng, -range, range, t, e), Dim.Tokens);
                    b.Nmse(b.G.RouterScore("router_score", z, func), Tolerances.Elementwise);
                    break;
                }

            case OpKind.SelectionBias:
                {
                    int e = c.Int("experts");
                    var p = b.Input("scores", Gen.F32(rng, 0, 1, t, e), Dim.Tokens);
                    var bias = b.Weight("bias", Gen.F32(rng, -0.5f, 0.5f, e));
                    b.Nmse(b.G.SelectionBias("selection_bias", p, bias), Tolerances.Elementwise);
                    break;
                }

            case OpKind.Add:
                {
                    int d = c.Int("d");
                    var x = b.Input("a", Gen.F32(rng, -4, 4, t, d), Dim.Tokens);
                    var y = b.Input("b", Gen.F32(rng, -4, 4, t, d), Dim.Tokens);
                    b.Nmse(b.G.Sum("add", x, y), Tolerances.Elementwise);
                    break;
                }

            default:
                throw new ArgumentException($"{c.Id} is not a router case.", nameof(c));
        }

        return b.Build();
    }
}
