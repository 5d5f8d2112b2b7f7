using Accel.Backends.Cpu;
using Accel.Graph;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>
/// The selection rules written out by hand: ties go to the smaller expert or group, -0 equals +0,
/// NaN ranks below every number, NaN values do not score a group, equal logits score equally
/// wherever they sit in a row, and special logits score as the reference scores them.
/// </summary>
public sealed partial class RoutingOpTests
{
    private const float NaN = float.NaN, Inf = float.PositiveInfinity;

    private static IEnumerable<TestCaseData> TopKRules()
    {
        var rules = new (string Name, float[] Row, int K, int[] Expected)[]
        {
            ("ties_and_signed_zeros", [1, 3, 3, 0, 3, -0f, 0f, 2], 8, [1, 2, 4, 7, 0, 3, 5, 6]),
            ("nan_below_minus_inf", [NaN, 1, -Inf, NaN, 2], 5, [4, 1, 2, 0, 3]),
            ("all_nan", Enumerable.Repeat(NaN, 20).ToArray(), 3, [0, 1, 2]),
            ("infinities", [-Inf, Inf, -Inf, Inf], 4, [1, 3, 0, 2]),
            ("all_equal_across_blocks", Enumerable.Repeat(0.5f, 40).ToArray(), 8, [0, 1, 2, 3, 4, 5, 6, 7]),
            ("max_in_the_tail", Enumerable.Range(0, 40).Select(i => i is 17 or 39 ? 5f : 1f).ToArray(), 3, [17, 39, 0]),
        };
        return from simd in Paths
               from r in rules
               select new TestCaseData(simd, r.Row, r.K, r.Expected).SetName($"TopK_{r.Name}_{simd}");
    }

    /// <summary>
    /// Written-out selections. The reference agrees except where a NaN sits at the smallest index
    /// not yet taken (it picks that NaN first); the CPU backend ranks every NaN last.
    /// </summary>
    [TestCaseSource(nameof(TopKRules))]
    public void TopK_follows_the_tie_and_NaN_rules(CpuSimd simd, float[] row, int k, int[] expected)
    {
        var b = new GraphBuilder();
        b.Output(b.TopK("topk", b.Input("q", DType.F32, Dim.Tokens, row.Length), k));
        var q = new Dictionary<string, HostTensor> { ["q"] = HostTensor.FromF32(new Shape(1, row.Length), row) };
        var ids = Harness.RunCpu(b.Build(), new Dictionary<string, HostTensor>(), On(simd), q)["topk"].AsSpan<int>().ToArray();
        Assert.That(ids, Is.EqualTo(expected));
    }

    private static IEnumerable<TestCaseData> GroupRules()
    {
        // Four groups of 32 (vector group scores on both paths), NaN left out of the scores.
        float[] wide = new float[128];
        wide.AsSpan(0, 32).Fill(1);
        (wide[0], wide[1], wide[2]) = (5, 2, NaN);               // max 5, top-2 sum 7
        (wide[40], wide[50]) = (4, 4);                           // max 4, top-2 sum 8 (two equal largest)
        wide.AsSpan(64, 32).Fill(3);                             // max 3, top-2 sum 6
        (wide[96], wide[127], wide[100]) = (5, 2, NaN);          // max 5, top-2 sum 7 (ties group 0)
        // Four groups of 2 (scalar group scores): a group of NaN only scores -inf.
        float[] narrow = [NaN, NaN, 1, 0, NaN, 3, -1, -2];
        var rules = new (string Name, float[] Row, int Groups, int Top, GroupScore Score, int[] Kept)[]
        {
            ("wide_max_tie_to_smaller_group", wide, 4, 1, GroupScore.Max, [0]),
            ("wide_top2_equal_largest", wide, 4, 2, GroupScore.Top2Sum, [1, 0]),
            ("wide_top2_three", wide, 4, 3, GroupScore.Top2Sum, [1, 0, 3]),
            ("narrow_max_nan_ignored", narrow, 4, 2, GroupScore.Max, [2, 1]),
            ("narrow_top2_nan_ignored", narrow, 4, 2, GroupScore.Top2Sum, [1, 3]),
        };
        return from simd in Paths
               from r in rules
               select new TestCaseData(simd, r.Row, r.Groups, r.Top, r.Score, r.Kept).SetName($"Groups_{r.Name}_{simd}");
    }

    /// <summary>Written-out group choices; the reference agrees on each (also checked).</summary>
    [TestCaseSource(nameof(GroupRules))]
    public void GroupLimitMask_follows_the_tie_and_NaN_rules(CpuSimd simd, float[] row, int groups, int top, GroupScore score,
        int[] kept)
    {
        var b = new GraphBuilder();
        b.Output(b.GroupLimitMask("groups", b.Input("q", DType.F32, Dim.Tokens, row.Length), groups, top, score));
        var graph = b.Build();
        var none = new Dictionary<string, HostTensor>();
        var q = new Dictionary<string, HostTensor> { ["q"] = HostTensor.FromF32(new Shape(1, row.Length), row) };
        var cpu = Harness.RunCpu(graph, none, On(simd), q);
        int per = row.Length / groups;
        var expected = row.Select((v, i) => kept.Contains(i / per) ? v : float.NegativeInfinity).ToArray();
        Assert.That(cpu["groups"].AsSpan<float>().ToArray(), Is.EqualTo(expected));
        Harness.AssertSame(cpu, Harness.RunReference(graph, none, q));
    }

    private static IEnumerable<TestCaseData> ScoreRules() =>
        from simd in Paths
        from func in Enum.GetValues<ScoreFunc>()
        from e in new[] { 16, 19 }
        select new TestCaseData(simd, func, e).SetName($"Scores_{func}_E{e}_{simd}");

    /// <summary>
    /// Rows of special logits (NaN, infinities, both sides of the softplus threshold, far tails),
    /// a row of -inf (softmax: NaN) and a row of one repeated logit (every score bit-equal, the
    /// last partial vector included), against the reference.
    /// </summary>
    [TestCaseSource(nameof(ScoreRules))]
    public void RouterScore_of_special_logits_matches_the_reference(CpuSimd simd, ScoreFunc func, int experts)
    {
        float[] specials = [NaN, 0, 1, -1, 25, -25, Inf, -Inf, 20, 20.5f, 19.5f, -100, 88, -88, 3, 3, 0.25f, -7, 7];
        float[] finite = [.. Enumerable.Range(0, experts).Select(i => (i % 5 - 2) * 9.5f)];
        var rows = specials[..experts].Concat(finite).Concat(Enumerable.Repeat(-Inf, experts)).Concat(Enumerable.Repeat(0.3f, experts));
        var b = new GraphBuilder();
        b.Output(b.RouterScore("score", b.Input("z", DType.F32, Dim.Tokens, experts), func));
        var graph = b.Build();
        var none = new Dictionary<string, HostTensor>();
        var z = new Dictionary<string, HostTensor> { ["z"] = HostTensor.FromF32(new Shape(4, experts), rows.ToArray()) };
        var cpu = Harness.RunCpu(graph, none, On(simd), z);
        Harness.AssertSame(cpu, Harness.RunReference(graph, none, z));
        var same = cpu["score"].AsSpan<float>()[(3 * experts)..].ToArray();
        Assert.That(same.Distinct().Count(), Is.EqualTo(1), "one logit, one score");
        if (func == ScoreFunc.Softmax)
        {
            Assert.That(cpu["score"].AsSpan<float>()[..experts].ToArray(), Has.All.NaN, "a NaN logit makes the softmax row NaN");
        }
    }
}
