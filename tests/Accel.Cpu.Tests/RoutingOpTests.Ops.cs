using Accel.Backends.Cpu;
using Accel.Graph;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>
/// Every routing and dispatch op on its own inputs (so each is compared alone), against the
/// reference, across token counts, expert counts, K, groups, alignments, skewed routing and both
/// SIMD paths. Each CPU session first runs other inputs, so an op that leaves part of its output
/// unwritten shows the earlier run's values.
/// </summary>
public sealed partial class RoutingOpTests
{
    private static IEnumerable<TestCaseData> OpCases()
    {
        int n = 0;
        foreach (var simd in Paths)
        {
            foreach (int t in new[] { 0, 1, 37, 1000 })
            {
                // 20 experts: rows that end in a partial vector, groups of 5.
                foreach (int e in new[] { 8, 20, 64, 256 })
                {
                    foreach (int k in new[] { 1, 6, 8 })
                    {
                        n++;
                        int align = n % 3 == 0 ? 4 : 1;
                        bool skew = n % 4 == 0;
                        yield return new TestCaseData(simd, t, e, k, align, skew)
                            .SetName($"Ops_{simd}_T{t}_E{e}_K{k}_A{align}{(skew ? "_skew" : "")}");
                    }
                }
            }
        }
    }

    [TestCaseSource(nameof(OpCases))]
    public void Every_routing_op_matches_the_reference(CpuSimd simd, int tokens, int experts, int k, int align, bool skew)
    {
        var (graph, weights) = OpGraph(experts, k, align);
        var inputs = OpInputs(tokens, experts, k, 100 + tokens + experts + k, skew);
        var earlier = OpInputs(tokens, experts, k, 7, !skew);
        var cpu = Harness.RunCpu(graph, weights, On(simd), earlier, inputs);
        Harness.AssertSame(cpu, Harness.RunReference(graph, weights, inputs));
    }

    private static IEnumerable<TestCaseData> PermutationCases() =>
        from simd in Paths
        from align in new[] { 1, 4 }
        from skew in new[] { false, true }
        select new TestCaseData(simd, align, skew).SetName($"Permutation_chunks_{simd}_A{align}{(skew ? "_skew" : "")}");

    /// <summary>72,000 (token, slot) pairs: the permutation counts and fills in several token chunks.</summary>
    [TestCaseSource(nameof(PermutationCases))]
    public void Permutation_over_several_chunks_matches_the_reference(CpuSimd simd, int align, bool skew)
    {
        const int T = 9000, K = 8, E = 64;
        var b = new GraphBuilder();
        var ids = b.Input("ids", DType.I32, Dim.Tokens, K);
        var offsets = b.ExclusiveScan("scan", b.ExpertHistogram("hist", ids, E), E, align);
        var (toToken, toSlot, toPos) = b.BuildPermutation("perm", ids, offsets, E, align);
        foreach (var v in new[] { offsets, toToken, toSlot, toPos })
        {
            b.Output(v);
        }

        var graph = b.Build();
        var weights = new Dictionary<string, HostTensor>();
        var inputs = new Dictionary<string, HostTensor> { ["ids"] = Harness.ExpertIds(T, K, E, 41, skew) };
        var earlier = new Dictionary<string, HostTensor> { ["ids"] = Harness.ExpertIds(T, K, E, 42, !skew) };
        Harness.AssertSame(Harness.RunCpu(graph, weights, On(simd), earlier, inputs), Harness.RunReference(graph, weights, inputs));
    }

    /// <summary>Groups per expert count: partial vectors (20), scalar and vector group scores (64, 256).</summary>
    private static (int Groups, int Top) GroupsOf(int experts) => experts switch
    {
        8 => (4, 2),
        20 => (4, 3),
        64 => (8, 3),
        _ => (8, 4),
    };

    private static (Graph.Graph Graph, Dictionary<string, HostTensor> Weights) OpGraph(int experts, int k, int align)
    {
        int d = experts + 37;
        var (groups, top) = GroupsOf(experts);
        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, d);
        var z = b.Input("z", DType.F32, Dim.Tokens, experts);
        var zq = b.Input("zq", DType.F32, Dim.Tokens, experts);
        var q = b.Input("q", DType.F32, Dim.Tokens, experts);
        var p = b.Input("p", DType.F32, Dim.Tokens, experts);
        var ids = b.Input("ids", DType.I32, Dim.Tokens, k);
        var outputs = new List<Value>
        {
            b.RmsNorm("norm", x, b.Weight("norm_w", DType.F32, d)),
            b.SelectionBias("biased", q, b.Weight("bias", DType.F32, experts)),
            b.GroupLimitMask("groups_max", q, groups, top, GroupScore.Max),
            b.GroupLimitMask("groups_top2", q, groups, top, GroupScore.Top2Sum),
            b.GroupLimitMask("groups_all", q, groups, groups, GroupScore.Max),
            b.TopK("topk", q, k),
            b.RouteWeights("weights_norm", p, ids, normalize: true, 2.5f, 1e-20f),
            b.RouteWeights("weights_raw", p, ids, normalize: false, 16f, 0f),
        };
        foreach (var func in Enum.GetValues<ScoreFunc>())
        {
            outputs.Add(b.RouterScore($"score_{func}", z, func));
            // Quantised logits: many equal scores, so the ids show the tie rule end to end.
            outputs.Add(b.TopK($"rank_{func}", b.RouterScore($"qscore_{func}", zq, func), k));
        }

        var offsets = b.ExclusiveScan("scan", b.ExpertHistogram("hist", ids, experts), experts, align);
        var (toToken, toSlot, toPos) = b.BuildPermutation("perm", ids, offsets, experts, align);
        outputs.AddRange([offsets, toToken, toSlot, toPos]);
        foreach (var v in outputs)
        {
            b.Output(v);
        }

        var weights = new Dictionary<string, HostTensor>
        {
            ["norm_w"] = Harness.Random(new Shape(d), 5),
            ["bias"] = Harness.Random(new Shape(experts), 6, 0.5),
        };
        return (b.Build(), weights);
    }

    private static Dictionary<string, HostTensor> OpInputs(int tokens, int experts, int k, int seed, bool skew)
    {
        var rng = new Random(seed);
        var shape = new Shape(tokens, experts);
        float[] Values(Func<int, float> f) => Enumerable.Range(0, (int)shape.Elements).Select(f).ToArray();
        return new Dictionary<string, HostTensor>
        {
            ["x"] = Harness.Random(new Shape(tokens, experts + 37), seed, 3),
            // Logits up to 36 in size: both sides of the softplus threshold.
            ["z"] = HostTensor.FromF32(shape, Values(i => (float)((rng.NextDouble() * 2 - 1) * (i % 7 == 0 ? 36 : 6)))),
            ["zq"] = HostTensor.FromF32(shape, Values(_ => (rng.Next(16) - 8) * 0.75f)),
            // Eight levels with -0 and +0 both present: ties everywhere, within and across groups.
            ["q"] = HostTensor.FromF32(shape, Values(_ => rng.Next(9) - 4 is var l && l == 0 && rng.Next(2) == 0 ? -0f : l * 0.5f)),
            ["p"] = HostTensor.FromF32(shape, Values(_ => (float)rng.NextDouble())),
            ["ids"] = Harness.ExpertIds(tokens, k, experts, seed, skew),
        };
    }
}
