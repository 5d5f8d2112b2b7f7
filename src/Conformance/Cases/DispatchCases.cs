using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance.Cases;

/// <summary>Cases of token dispatch: ExpertHistogram, ExclusiveScan, BuildPermutation, Permute, Unpermute.</summary>
internal static class DispatchCases
{
    /// <summary>The cases.</summary>
    public static IEnumerable<ConformanceCase> All()
    {
        foreach (int t in RouterCases.Tokens)
        {
            foreach (var (e, k, routing) in new[] { (16, 4, "uniform"), (16, 4, "skewed"), (16, 4, "one"), (61, 6, "uniform") })
            {
                yield return new("ExpertHistogram", "i32", ("tokens", t), ("experts", e), ("k", k), ("routing", routing))
                {
                    Quick = t == 37 && routing == "skewed",
                };
            }

            foreach (var (e, k, align, routing) in new[] { (16, 4, 1, "uniform"), (16, 4, 16, "skewed"), (16, 1, 16, "one"), (61, 6, 16, "uniform") })
            {
                yield return new("BuildPermutation", "i32", ("tokens", t), ("experts", e), ("k", k), ("align", align), ("routing", routing))
                {
                    Quick = t == 37 && e == 16 && align == 16 && k == 4,
                };
            }

            foreach (var (d, align, routing) in new[] { (96, 1, "uniform"), (131, 16, "skewed") })
            {
                yield return new("Permute", "f32", ("tokens", t), ("experts", 16), ("k", 4), ("d", d), ("align", align), ("routing", routing))
                {
                    Quick = t == 37 && align == 16,
                };
            }

            foreach (var (d, align, weighted, routing) in new[] { (96, 1, true, "uniform"), (131, 16, false, "skewed"), (131, 16, true, "skewed") })
            {
                yield return new("Unpermute", "f32", ("tokens", t), ("experts", 16), ("k", 4), ("d", d), ("align", align),
                    ("weights", weighted), ("routing", routing))
                {
                    Quick = t == 37 && align == 16 && weighted,
                };
            }
        }

        foreach (int t in RouterCases.Tokens)
        {
            foreach (var (e, k) in new[] { (1, 1), (16, 4), (61, 6) })
            {
                foreach (int align in new[] { 1, 16 })
                {
                    yield return new("ExclusiveScan", "i32", ("tokens", t), ("experts", e), ("k", k), ("align", align), ("routing", "skewed"))
                    {
                        Quick = t == 37 && e == 61 && align == 16,
                    };
                }
            }
        }

        yield return new("BuildPermutation", "i32", ("tokens", 4096), ("experts", 256), ("k", 8), ("align", 16), ("routing", "skewed")) { Slow = true };
        yield return new("Unpermute", "f32", ("tokens", 1024), ("experts", 64), ("k", 8), ("d", 1024), ("align", 1), ("weights", true),
            ("routing", "uniform")) { Slow = true };
    }

    /// <summary>Builds the problem of a case.</summary>
    public static CaseProblem Build(ConformanceCase c, CaseRandom rng)
    {
        var b = new ProblemBuilder(rng);
        int t = c.Int("tokens"), e = c.Int("experts"), k = c.Int("k"), align = c.Int("align", 1);
        var ids = Gen.Routing(rng, t, e, k, c.Text("routing"));
        var off = Gen.Offsets(ids, e, align);
        int rows = Gen.PaddedRows(t, k, e, align);
        var rowsDim = OpSignatures.PaddedRows(Dim.Tokens, k, e, align);
        var (ptt, pts, tsp) = Gen.Layout(ids, off, k, rows);
        switch (c.Op)
        {
            case OpKind.ExpertHistogram:
                {
                    var idx = b.Input("topk_ids", Gen.I32(ids, t, k), Dim.Tokens);
                    b.Exact(b.G.ExpertHistogram("expert_histogram", idx, e));
                    break;
                }

            case OpKind.ExclusiveScan:
                {
                    var counts = new int[e];
                    foreach (int x in ids) { counts[x]++; }
                    var cnt = b.Input("counts", Gen.I32(counts, e));
                    b.Exact(b.G.ExclusiveScan("expert_offsets", cnt, e, align));
                    break;
                }

            case OpKind.BuildPermutation:
                {
                    var idx = b.Input("topk_ids", Gen.I32(ids, t, k), Dim.Tokens);
                    var offsets = b.Input("offsets", Gen.I32(off, e + 1));
                    var (p2t, p2s, ts2p) = b.G.BuildPermutation("permutation", idx, offsets, e, align);
                    b.G.Output(p2t).Output(p2s);
                    b.Check(ts2p, new PermutationCheck(p2t.Name, p2s.Name, ts2p.Name, idx.Name, offsets.Name));
                    break;
                }

            case OpKind.Permute:
                {
                    int d = c.Int("d");
                    var x = b.Input("x", Gen.F32(rng, -2, 2, t, d), Dim.Tokens);
                    var p2t = b.Input("pos_to_token", Gen.I32(ptt, rows), rowsDim);
                    b.Nmse(b.G.Permute("permute", x, p2t), Tolerances.Copy);
                    break;
                }

            case OpKind.Unpermute:
                {
                    int d = c.Int("d");
                    var yp = b.Input("rows", Gen.Rows(rng, ptt, d, -2, 2), rowsDim);
                    var pos = b.Input("token_slot_to_pos", Gen.I32(tsp, t, k), Dim.Tokens);
                    var w = c.Flag("weights") ? b.Input("route_weights", Gen.F32(rng, 0, 1, t, k), Dim.Tokens) : null;
                    b.Nmse(b.G.Unpermute("combine", yp, pos, w), Tolerances.Reduction);
                    break;
                }

            default:
                throw new ArgumentException($"{c.Id} is not a dispatch case.", nameof(c));
        }

        return b.Build();
    }
}
