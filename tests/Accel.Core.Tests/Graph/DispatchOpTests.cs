using Accel.Errors;
using Accel.Graph;
using Accel.Types;
using static Accel.Core.Tests.Graph.OpGraph;

namespace Accel.Core.Tests.Graph;

/// <summary>OP-9 to OP-11, OP-14 and OP-16 on the reference backend: T = 0, T = 1 and segment layouts.</summary>
public sealed class DispatchOpTests
{
    [Test]
    public void ExpertHistogram_T0_T1_and_out_of_range_ids()
    {
        var g = new OpGraph();
        var c = g.B.ExpertHistogram("hist", g.Input("idx", I([0, 2])), 3);
        Assert.That(Ints(g.Run1(c)), Is.EqualTo(new[] { 0, 0, 0 }));

        g = new OpGraph();
        c = g.B.ExpertHistogram("hist", g.Input("idx", I([1, 2], 2, 0)), 3);
        Assert.That(Ints(g.Run1(c)), Is.EqualTo(new[] { 1, 0, 1 }));

        g = new OpGraph();
        c = g.B.ExpertHistogram("hist", g.Input("idx", I([1, 2], 2, 3)), 3);
        Assert.That(Assert.Throws<InvalidInputException>(() => g.Run1(c))!.Message, Does.Contain("Expert id 3 is outside 0..2"));
    }

    private static int[] Scan(int alignment, params int[] counts)
    {
        var g = new OpGraph();
        return Ints(g.Run1(g.B.ExclusiveScan("scan", g.Input("counts", I([counts.Length], counts), tokenAxis: false), counts.Length, alignment)));
    }

    [Test]
    public void ExclusiveScan_T0_T1_and_alignment_4()
    {
        Assert.That(Scan(4, 0, 0, 0, 0), Is.EqualTo(new[] { 0, 0, 0, 0, 0 }), "T = 0: every segment empty, no padding");
        Assert.That(Scan(4, 0, 1, 0, 0), Is.EqualTo(new[] { 0, 0, 4, 4, 4 }), "T = 1, K = 1: one row padded to 4");
        // Counts [3, 0, 5, 4] padded to [4, 0, 8, 4].
        Assert.That(Scan(4, 3, 0, 5, 4), Is.EqualTo(new[] { 0, 4, 4, 12, 16 }));
        Assert.That(Scan(1, 3, 0, 5, 4), Is.EqualTo(new[] { 0, 3, 3, 8, 12 }));
    }

    /// <summary>Histogram, scan and permutation chained for topk ids [T, 2] over 3 experts.</summary>
    private static (int[] PosToToken, int[] PosToSlot, int[] TokenSlotToPos, int[] Offsets) Permutation(int alignment, int tokens, params int[] idx)
    {
        var g = new OpGraph();
        var ids = g.Input("idx", I([tokens, 2], idx));
        var off = g.B.ExclusiveScan("scan", g.B.ExpertHistogram("hist", ids, 3), 3, alignment);
        var (ptt, pts, tsp) = g.B.BuildPermutation("perm", ids, off, 3, alignment);
        var r = g.Run(ptt, pts, tsp, off);
        Assert.That(r[0].Shape[0], Is.EqualTo(tokens * 2 + 3 * (alignment - 1)), "N_pad = T K + E (A - 1)");
        return (Ints(r[0]), Ints(r[1]), Ints(r[2]), Ints(r[3]));
    }

    [Test]
    public void BuildPermutation_T0_pads_every_row()
    {
        var p = Permutation(4, 0);
        Assert.That(p.PosToToken, Is.EqualTo(Enumerable.Repeat(-1, 9)));
        Assert.That(p.PosToSlot, Is.EqualTo(Enumerable.Repeat(-1, 9)));
        Assert.That(p.TokenSlotToPos, Is.Empty);
    }

    [Test]
    public void BuildPermutation_T1()
    {
        var p = Permutation(1, 1, 2, 0);
        Assert.That(p.Offsets, Is.EqualTo(new[] { 0, 1, 1, 2 }));
        Assert.That(p.PosToToken, Is.EqualTo(new[] { 0, 0 }));
        Assert.That(p.PosToSlot, Is.EqualTo(new[] { 1, 0 }));
        Assert.That(p.TokenSlotToPos, Is.EqualTo(new[] { 1, 0 }));
    }

    [Test]
    public void BuildPermutation_orders_rows_by_token_then_slot_and_pads_with_minus_one()
    {
        // idx = [[2, 0], [0, 1], [2, 0]]: counts [3, 1, 2] padded to 4 each, offsets [0, 4, 8, 12];
        // 15 rows = T K + E (A - 1), rows 12..14 lie past off[E].
        var p = Permutation(4, 3, 2, 0, 0, 1, 2, 0);
        Assert.That(p.Offsets, Is.EqualTo(new[] { 0, 4, 8, 12 }));
        Assert.That(p.PosToToken, Is.EqualTo(new[] { 0, 1, 2, -1, 1, -1, -1, -1, 0, 2, -1, -1, -1, -1, -1 }));
        Assert.That(p.PosToSlot, Is.EqualTo(new[] { 1, 0, 1, -1, 1, -1, -1, -1, 0, 0, -1, -1, -1, -1, -1 }));
        Assert.That(p.TokenSlotToPos, Is.EqualTo(new[] { 8, 0, 1, 4, 9, 2 }));
    }

    private static float[] Permute(int tokens, int[] posToToken)
    {
        var g = new OpGraph();
        var x = g.Input("x", F([tokens, 2], [.. new[] { 1f, 2f, 3f, 4f }.Take(2 * tokens)]), tokenAxis: false);
        var xp = g.B.Permute("permute", x, g.Input("ptt", I([posToToken.Length], posToToken)));
        var r = g.Run1(xp);
        Assert.That(r.Shape, Is.EqualTo(new Shape(posToToken.Length, 2)));
        return Floats(r);
    }

    [Test]
    public void Permute_T0_T1_and_zero_padding_rows()
    {
        Assert.That(Permute(0, []), Is.Empty);
        Assert.That(Permute(0, [-1, -1]), Is.EqualTo(new[] { 0f, 0, 0, 0 }));
        Assert.That(Permute(1, [0]), Is.EqualTo(new[] { 1f, 2 }));
        Assert.That(Permute(2, [1, -1, 0, 1]), Is.EqualTo(new[] { 3f, 4, 0, 0, 1, 2, 3, 4 }));
    }

    private static float[] Unpermute(int tokens, int[] tsp, float[]? w)
    {
        // Rows Yp: r0 = [1, 10], r1 = [100, 1000], r2 = [0.5, 0.25].
        var g = new OpGraph();
        var yp = g.Input("yp", F([3, 2], 1, 10, 100, 1000, 0.5f, 0.25f), tokenAxis: false);
        var pos = g.Input("tsp", I([tokens, 2], tsp));
        var weights = w is null ? null : g.Input("w", F([tokens, 2], w));
        var y = g.Run1(g.B.Unpermute("combine", yp, pos, weights));
        Assert.That(y.Shape, Is.EqualTo(new Shape(tokens, 2)));
        return Floats(y);
    }

    [Test]
    public void Unpermute_T0_T1_and_slot_order()
    {
        Assert.That(Unpermute(0, [], []), Is.Empty);
        Assert.That(Unpermute(0, [], null), Is.Empty);
        // Token 0: slot 0 -> row 2 weight 4, slot 1 -> row 0 weight 0.25: 4 r2 + 0.25 r0 = [2.25, 3.5].
        Assert.That(Unpermute(1, [2, 0], [4, 0.25f]), Is.EqualTo(new[] { 2.25f, 3.5f }));
        // The same rows with the weights swapped between the slots give a different answer.
        Assert.That(Unpermute(1, [2, 0], [0.25f, 4]), Is.EqualTo(new[] { 4.125f, 40.0625f }));
        // Without weights (applied in SwiGLU instead): plain sums in slot order.
        Assert.That(Unpermute(2, [2, 0, 1, 2], null), Is.EqualTo(new[] { 1.5f, 10.25f, 100.5f, 1000.25f }));
    }

    [TestCase(0)]
    [TestCase(1)]
    public void Add_T0_and_T1(int tokens)
    {
        var g = new OpGraph();
        var a = g.Input("a", F([tokens, 2], [.. new[] { 1f, -2f }.Take(2 * tokens)]));
        var b = g.Input("b", F([tokens, 2], [.. new[] { 0.5f, 2f }.Take(2 * tokens)]));
        Assert.That(Floats(g.Run1(g.B.Sum("sum", a, b))), Is.EqualTo(new[] { 1.5f, 0f }.Take(2 * tokens)));
    }
}
