using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance.Cases;

/// <summary>Cases of expert selection: GroupLimitMask, TopK, HashRoute, RouteWeights.</summary>
internal static class SelectionCases
{
    /// <summary>The cases.</summary>
    public static IEnumerable<ConformanceCase> All()
    {
        foreach (var score in Enum.GetValues<GroupScore>())
        {
            foreach (int t in RouterCases.Tokens)
            {
                foreach (var (e, g, gk) in new[] { (16, 4, 2), (64, 8, 4), (15, 5, 1) })
                {
                    yield return new("GroupLimitMask", "f32", ("score", score), ("tokens", t), ("experts", e), ("groups", g), ("topgroups", gk))
                    {
                        Quick = score == GroupScore.Top2Sum && t == 37 && e == 64,
                    };
                }
            }
        }

        foreach (int t in RouterCases.Tokens)
        {
            foreach (var (e, k) in new[] { (16, 4), (61, 6), (8, 8) })
            {
                foreach (bool masked in e >= 2 * k ? new[] { false, true } : [false])
                {
                    yield return new("TopK", "f32", ("tokens", t), ("experts", e), ("k", k), ("masked", masked))
                    {
                        Quick = t == 37 && e == 61 && masked,
                    };
                }
            }

            foreach (var (e, k, vocab) in new[] { (16, 4, 50), (12, 6, 7) })
            {
                yield return new("HashRoute", "i32", ("tokens", t), ("experts", e), ("k", k), ("vocab", vocab)) { Quick = t == 37 && e == 16 };
            }

            foreach (bool normalize in new[] { false, true })
            {
                foreach (var (e, k, scale) in new[] { (16, 4, 2.5f), (8, 2, 1f) })
                {
                    yield return new("RouteWeights", "f32", ("normalize", normalize), ("tokens", t), ("experts", e), ("k", k), ("scale", scale),
                        ("eps", normalize ? 1e-20f : 0f))
                    {
                        Quick = normalize && t == 37 && e == 16,
                    };
                }
            }
        }

        yield return new("TopK", "f32", ("tokens", 1024), ("experts", 256), ("k", 8), ("masked", true)) { Slow = true };
    }

    /// <summary>Builds the problem of a case.</summary>
    public static CaseProblem Build(ConformanceCase c, CaseRandom rng)
    {
        var b = new ProblemBuilder(rng);
        int t = c.Int("tokens"), e = c.Int("experts");
        switch (c.Op)
        {
            case OpKind.GroupLimitMask:
                {
                    int g = c.Int("groups"), gk = c.Int("topgroups");
                    var score = Enum.Parse<GroupScore>(c.Text("score"), ignoreCase: true);
                    var q = b.Input("scores", Gen.F32(rng, -0.5f, 1, t, e), Dim.Tokens);
                    var m = b.G.GroupLimitMask("group_limit", q, g, gk, score);
                    b.Check(m, new MaskedScoresCheck(m.Name, Tolerances.Elementwise));
                    return b.Build(new RoutingMargin(q.Name, 0, g, gk, score));
                }

            case OpKind.TopK:
                {
                    int k = c.Int("k");
                    var scores = Gen.F32(rng, 0, 1, t, e);
                    if (c.Flag("masked"))
                    {
                        MaskHalf(rng, scores.AsSpan<float>(), e);
                    }

                    var q = b.Input("scores", scores, Dim.Tokens);
                    var idx = b.G.TopK("topk", q, k);
                    b.Check(idx, new RoutingSetCheck(idx.Name));
                    return b.Build(new RoutingMargin(q.Name, k));
                }

            case OpKind.HashRoute:
                {
                    int k = c.Int("k"), vocab = c.Int("vocab");
                    var table = new int[vocab * k];
                    for (int v = 0; v < vocab; v++)
                    {
                        Gen.Routing(rng, 1, e, k, "uniform").CopyTo(table, v * k);
                    }

                    var tokenIds = Enumerable.Range(0, t).Select(_ => rng.Next(vocab)).ToArray();
                    var ids = b.Input("token_ids", Gen.I32(tokenIds, t), Dim.Tokens);
                    var tab = b.Weight("tid2eid", Gen.I32(table, vocab, k));
                    b.Exact(b.G.HashRoute("hash_route", ids, tab, e));
                    return b.Build();
                }

            case OpKind.RouteWeights:
                {
                    int k = c.Int("k");
                    var p = b.Input("scores", Gen.F32(rng, 0.01f, 1, t, e), Dim.Tokens);
                    var ids = b.Input("topk_ids", Gen.I32(Gen.Routing(rng, t, e, k, "uniform"), t, k), Dim.Tokens);
                    var w = b.G.RouteWeights("route_weights", p, ids, c.Flag("normalize"), c.Float("scale")!.Value, c.Float("eps")!.Value);
                    b.Nmse(w, Tolerances.Elementwise);
                    return b.Build();
                }

            default:
                throw new ArgumentException($"{c.Id} is not a selection case.", nameof(c));
        }
    }

    /// <summary>Sets about half of each row to -inf (as a group mask leaves it), keeping at least half finite.</summary>
    private static void MaskHalf(CaseRandom rng, Span<float> scores, int experts)
    {
        var order = Enumerable.Range(0, experts).ToArray();
        for (int r = 0; r < scores.Length / experts; r++)
        {
            rng.Shuffle(order.AsSpan());
            foreach (int e in order.AsSpan(0, experts / 2))
            {
                scores[r * experts + e] = float.NegativeInfinity;
            }
        }
    }
}
