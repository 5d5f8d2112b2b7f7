using Accel.Errors;
using Accel.Graph;
using Accel.Types;
using static Accel.Core.Tests.Graph.OpGraph;

namespace Accel.Core.Tests.Graph;

/// <summary>OP-1 to OP-8 on the reference backend: T = 0, T = 1 and the spec's edge cases.</summary>
public sealed class RoutingOpTests
{
    private const float NegInf = float.NegativeInfinity;

    [Test]
    public void RmsNorm_T0_and_T1()
    {
        var g = new OpGraph();
        var y = g.B.RmsNorm("norm", g.Input("x", F([0, 2])), g.Weight("w", F([2], 1, 2)), 0);
        Assert.That(g.Run1(y).Shape, Is.EqualTo(new Shape(0, 2)));

        // rms([3, 4]) = sqrt(12.5) = 3.5355339; y = [1 * 3, 2 * 4] / 3.5355339.
        g = new OpGraph();
        y = g.B.RmsNorm("norm", g.Input("x", F([1, 2], 3, 4)), g.Weight("w", F([2], 1, 2)), 0);
        Assert.That(Floats(g.Run1(y)), Is.EqualTo(new[] { 0.84852814f, 2.2627417f }).Within(1e-6));
    }

    [TestCase(0)]
    [TestCase(1)]
    public void RouterGemm_with_f32_and_bf16_weights(int tokens)
    {
        foreach (var type in new[] { DType.F32, DType.BF16 })
        {
            var g = new OpGraph();
            var w = HostTensor.FromF32(new Shape(3, 2), [1, 0, 0.5f, -1, 2, 2]);
            var weight = type == DType.F32 ? w : new HostTensor(DType.BF16, w.Shape,
                [.. Floats(w).SelectMany(v => BitConverter.GetBytes((ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)))]);
            var z = g.B.RouterGemm("gemm", g.Input("x", F([tokens, 2], [.. new float[] { 1, 2 }.Take(2 * tokens)])), g.Weight("w", weight));
            var r = g.Run1(z);
            Assert.That(r.Shape, Is.EqualTo(new Shape(tokens, 3)));
            Assert.That(Floats(r), Is.EqualTo(new[] { 1f, -1.5f, 6f }.Take(3 * tokens)));
        }
    }

    private static float[] Score(ScoreFunc f, params float[] z)
    {
        var g = new OpGraph();
        var p = g.B.RouterScore("score", g.Input("z", F([z.Length == 0 ? 0 : 1, Math.Max(z.Length, 3)], z)), f);
        return Floats(g.Run1(p));
    }

    [Test]
    public void RouterScore_T0() =>
        Assert.That(Enum.GetValues<ScoreFunc>().Select(f => Score(f).Length), Is.All.EqualTo(0));

    [Test]
    public void RouterScore_T1_each_function()
    {
        // softmax([0, ln 2, ln 3]) = [1, 2, 3] / 6.
        Assert.That(Score(ScoreFunc.Softmax, 0, MathF.Log(2), MathF.Log(3)), Is.EqualTo(new[] { 1 / 6f, 1 / 3f, 0.5f }).Within(1e-7));
        // Huge logits do not overflow: max subtraction.
        Assert.That(Score(ScoreFunc.Softmax, 1000, 0, 1000), Is.EqualTo(new[] { 0.5f, 0f, 0.5f }));
        Assert.That(Score(ScoreFunc.Sigmoid, 0, 2, -2), Is.EqualTo(new[] { 0.5f, 0.880797f, 0.119203f }).Within(1e-6));
        // sqrt(softplus): above 20 softplus(z) = z, so sqrt(25) = 5 and sqrt(21); below, sqrt(ln(1 + e^z)).
        Assert.That(Score(ScoreFunc.SqrtSoftplus, 25, 21, 0), Is.EqualTo(new[] { 5f, 4.5825757f, 0.8325546f }).Within(1e-6));
        Assert.That(Score(ScoreFunc.SqrtSoftplus, -30, -1, 1), Is.EqualTo(new[] { 3.0590232e-7f, 0.5596979f, 1.1459763f }).Within(1e-6));
    }

    [TestCase(0)]
    [TestCase(1)]
    public void SelectionBias_with_negative_values(int tokens)
    {
        var g = new OpGraph();
        var q = g.B.SelectionBias("bias", g.Input("p", F([tokens, 2], [.. new[] { 0.5f, 0.25f }.Take(2 * tokens)])), g.Weight("b", F([2], -1, 0.5f)));
        Assert.That(Floats(g.Run1(q)), Is.EqualTo(new[] { -0.5f, 0.75f }.Take(2 * tokens)));
    }

    private static float[] GroupMask(int groups, int keep, GroupScore score, int tokens, params float[] q)
    {
        var g = new OpGraph();
        var m = g.B.GroupLimitMask("gl", g.Input("q", F([tokens, tokens == 0 ? 6 : q.Length / tokens], q)), groups, keep, score);
        return Floats(g.Run1(m));
    }

    [Test]
    public void GroupLimitMask_T0()
    {
        Assert.That(GroupMask(3, 1, GroupScore.Max, 0), Is.Empty);
        Assert.That(GroupMask(3, 2, GroupScore.Top2Sum, 0), Is.Empty);
    }

    [Test]
    public void GroupLimitMask_ties_go_to_the_smaller_group()
    {
        // Max scores [2, 2, 0]: groups 0 and 1 tie, group 0 is kept.
        Assert.That(GroupMask(3, 1, GroupScore.Max, 1, 1, 2, 2, 1, 0, 0),
            Is.EqualTo(new[] { 1, 2, NegInf, NegInf, NegInf, NegInf }));
        // Top-2 sums [3, 3, 3.5]: group 2 first, then the tie between 0 and 1 goes to 0.
        Assert.That(GroupMask(3, 2, GroupScore.Top2Sum, 1, 1, 2, 2, 1, 4, -0.5f),
            Is.EqualTo(new[] { 1, 2, NegInf, NegInf, 4, -0.5f }));
    }

    [Test]
    public void GroupLimitMask_top2sum_and_max_choose_differently()
    {
        // Group 0 = [0.9, 0.1] (max 0.9, sum 1.0), group 1 = [0.7, 0.6] (max 0.7, sum 1.3).
        float[] q = [0.9f, 0.1f, 0.7f, 0.6f];
        Assert.That(GroupMask(2, 1, GroupScore.Max, 1, q), Is.EqualTo(new[] { 0.9f, 0.1f, NegInf, NegInf }));
        Assert.That(GroupMask(2, 1, GroupScore.Top2Sum, 1, q), Is.EqualTo(new[] { NegInf, NegInf, 0.7f, 0.6f }));
        // Negative scores in the kept group stay; masked ones become -inf, not 0.
        Assert.That(GroupMask(2, 1, GroupScore.Max, 1, -3, -4, -1, -2), Is.EqualTo(new[] { NegInf, NegInf, -1f, -2f }));
    }

    private static int[] TopK(int k, int tokens, params float[] q)
    {
        var g = new OpGraph();
        var idx = g.B.TopK("topk", g.Input("q", F([tokens, tokens == 0 ? 5 : q.Length / tokens], q)), k);
        var r = g.Run1(idx);
        Assert.That(r.Shape, Is.EqualTo(new Shape(tokens, k)));
        return Ints(r);
    }

    [Test]
    public void TopK_T0_and_T1()
    {
        Assert.That(TopK(2, 0), Is.Empty);
        Assert.That(TopK(2, 1, 0.1f, 0.5f, 0.3f, 0.9f, 0.2f), Is.EqualTo(new[] { 3, 1 }));
    }

    [Test]
    public void TopK_ties_go_to_the_smaller_index_and_are_sorted_descending()
    {
        Assert.That(TopK(2, 1, 1, 3, 3, 2, 3), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(TopK(4, 1, 1, 3, 3, 2, 3), Is.EqualTo(new[] { 1, 2, 4, 3 }));
        Assert.That(TopK(5, 1, 0, 0, 0, 0, 0), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        Assert.That(TopK(1, 2, NegInf, -5, NegInf, NegInf, NegInf, NegInf, NegInf, 7, NegInf, 7), Is.EqualTo(new[] { 1, 2 }));
    }

    private static readonly HostTensor Table = I([4, 2], 0, 1, 3, 2, 1, 3, 2, 0);

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(3)]
    public void HashRoute_reads_the_table_rows(int tokens)
    {
        int[] ids = [2, 1, 2];
        var g = new OpGraph();
        var idx = g.B.HashRoute("hash", g.Input("ids", I([tokens], [.. ids.Take(tokens)])), g.Weight("table", Table), 4);
        Assert.That(Ints(g.Run1(idx)), Is.EqualTo(new[] { 1, 3, 3, 2, 1, 3 }.Take(2 * tokens)));
    }

    [TestCase(4, "Token id 4 at position 1 is outside the hash table (0..3)")]
    [TestCase(-1, "Token id -1 at position 1")]
    public void HashRoute_rejects_token_ids_outside_the_table(int id, string expected)
    {
        var g = new OpGraph();
        var idx = g.B.HashRoute("hash", g.Input("ids", I([2], 0, id)), g.Weight("table", Table), 4);
        Assert.That(Assert.Throws<InvalidInputException>(() => g.Run1(idx))!.Message, Does.Contain(expected));
    }

    [TestCase(new[] { 0, 0 }, "tid2eid row 1 names expert 0 twice")]
    [TestCase(new[] { 0, 4 }, "tid2eid[1, 1] = 4 is not an expert id (0..3)")]
    public void HashRoute_rejects_bad_table_rows_it_reads(int[] row, string expected)
    {
        var g = new OpGraph();
        var idx = g.B.HashRoute("hash", g.Input("ids", I([1], 1)), g.Weight("table", I([2, 2], 0, 1, row[0], row[1])), 4);
        Assert.That(Assert.Throws<InvalidInputException>(() => g.Run1(idx))!.Message, Does.Contain(expected));
    }

    private static float[] Weights(bool normalize, float scale, float eps, int tokens)
    {
        var g = new OpGraph();
        var p = g.Input("p", F([tokens, 3], [.. new[] { 0.2f, 0.3f, 0.5f }.Take(3 * tokens)]));
        var idx = g.Input("idx", I([tokens, 2], [.. new[] { 2, 0 }.Take(2 * tokens)]));
        return Floats(g.Run1(g.B.RouteWeights("w", p, idx, normalize, scale, eps)));
    }

    [Test]
    public void RouteWeights_T0_and_T1_with_and_without_normalisation()
    {
        Assert.That(Weights(true, 2, 0, 0), Is.Empty);
        // Gathered p = [0.5, 0.2] (slot order kept); times s = 2.
        Assert.That(Weights(false, 2, 0, 1), Is.EqualTo(new[] { 1f, 0.4f }).Within(1e-6));
        // Normalised without eps: [0.5, 0.2] / 0.7 * 2.
        Assert.That(Weights(true, 2, 0, 1), Is.EqualTo(new[] { 1.4285715f, 0.5714286f }).Within(1e-6));
        // With eps = 0.1 in the denominator: [0.5, 0.2] / 0.8 * 2 = [1.25, 0.5].
        Assert.That(Weights(true, 2, 0.1f, 1), Is.EqualTo(new[] { 1.25f, 0.5f }).Within(1e-6));
        // Production eps 1e-20 changes nothing visible.
        Assert.That(Weights(true, 1, 1e-20f, 1), Is.EqualTo(new[] { 0.71428573f, 0.2857143f }).Within(1e-7));
    }
}
