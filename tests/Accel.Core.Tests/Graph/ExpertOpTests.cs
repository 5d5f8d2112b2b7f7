using Accel.Graph;
using Accel.Types;
using static Accel.Core.Tests.Graph.OpGraph;

namespace Accel.Core.Tests.Graph;

/// <summary>OP-12, OP-13 and OP-15 on the reference backend: T = 0, T = 1, segments, clamps and quantised weights.</summary>
public sealed class ExpertOpTests
{
    /// <summary>Expert 0 = [[5, 5], [5, 5], [5, 5]] (never used below), expert 1 = [[1, 0], [0, 1], [1, 1]].</summary>
    private static readonly HostTensor W = F([2, 3, 2], 5, 5, 5, 5, 5, 5, 1, 0, 0, 1, 1, 1);

    private static HostTensor Gemm(HostTensor rows, int[] offsets, HostTensor weight, HostTensor? scale = null)
    {
        var g = new OpGraph();
        var y = g.B.GroupedGemm("gemm", g.Input("rows", rows), g.Weight("w", weight), scale is null ? null : g.Weight("s", scale),
            g.Input("off", I([offsets.Length], offsets), tokenAxis: false));
        return g.Run1(y);
    }

    [Test]
    public void GroupedGemm_T0_and_T1()
    {
        var r = Gemm(F([0, 2]), [0, 0, 0], W);
        Assert.That(r.Shape, Is.EqualTo(new Shape(0, 3)));
        Assert.That(Floats(Gemm(F([1, 2], 1, 2), [0, 0, 1], W)), Is.EqualTo(new[] { 1f, 2, 3 }));
    }

    [Test]
    public void GroupedGemm_segments_and_rows_past_the_last_offset()
    {
        // Row 0 belongs to expert 0, row 1 to expert 1, row 2 (padding past off[E]) stays zero.
        var r = Gemm(F([3, 2], 1, 1, 1, 2, 7, 7), [0, 1, 2], W);
        Assert.That(Floats(r), Is.EqualTo(new[] { 10f, 10, 10, 1, 2, 3, 0, 0, 0 }));
        // An expert with an empty segment is skipped.
        Assert.That(Floats(Gemm(F([1, 2], 1, 2), [0, 1, 1], W)), Is.EqualTo(new[] { 15f, 15, 15 }));
    }

    [Test]
    public void GroupedGemm_with_fp8_partial_blocks()
    {
        // W [2, 1, 130] all e4m3 1.0 (0x38); expert 1's block scales [3, 5]: 128 * 3 + 2 * 5 = 394.
        var w = new HostTensor(DType.F8E4M3, new Shape(2, 1, 130), [.. Enumerable.Repeat((byte)0x38, 260)]);
        var s = F([2, 1, 2], 1, 1, 3, 5);
        var ones = F([1, 130], [.. Enumerable.Repeat(1f, 130)]);
        Assert.That(Floats(Gemm(ones, [0, 0, 1], w, s)), Is.EqualTo(new[] { 394f }));
        var ue8m0 = new HostTensor(DType.UE8M0, new Shape(2, 1, 2), [127, 127, 128, 130]);
        Assert.That(Floats(Gemm(ones, [0, 0, 1], w, ue8m0)), Is.EqualTo(new[] { 128f * 2 + 2 * 8 }));
    }

    [Test]
    public void GroupedGemm_with_fp4_partial_blocks()
    {
        // W [1, 1, 34]: every nibble 0x2 (1.0); scales 2^0 for columns 0..31 and 2^2 for 32..33: 32 + 2 * 4 = 40.
        var w = new HostTensor(DType.F4E2M1, new Shape(1, 1, 34), [.. Enumerable.Repeat((byte)0x22, 17)]);
        var s = new HostTensor(DType.UE8M0, new Shape(1, 1, 2), [127, 129]);
        Assert.That(Floats(Gemm(F([1, 34], [.. Enumerable.Repeat(1f, 34)]), [0, 1], w, s)), Is.EqualTo(new[] { 40f }));
    }

    private static float[] Swiglu(float? limit, int rows, float[] gate, float[] up)
    {
        var g = new OpGraph();
        var a = g.B.SwiGlu("act", g.Input("g", F([rows, 3], gate)), g.Input("u", F([rows, 3], up)), limit);
        return Floats(g.Run1(a));
    }

    [Test]
    public void SwiGlu_T0_T1_and_the_asymmetric_clamp()
    {
        Assert.That(Swiglu(10, 0, [], []), Is.Empty);
        float[] gate = [20, -15, 1], up = [-30, 12, 2];
        // Clamped: gate <= 10 only (no lower bound), |up| <= 10.
        Assert.That(Swiglu(10, 1, gate, up),
            Is.EqualTo(new[] { Silu(10) * -10, Silu(-15) * 10, Silu(1) * 2 }).Within(1e-5));
        Assert.That(Swiglu(null, 1, gate, up),
            Is.EqualTo(new[] { Silu(20) * -30, Silu(-15) * 12, Silu(1) * 2 }).Within(1e-5));
    }

    [Test]
    public void SwiGlu_row_weights_and_empty_rows()
    {
        var g = new OpGraph();
        var gate = g.Input("g", F([2, 1], 1, 1));
        var up = g.Input("u", F([2, 1], 2, 2));
        var w = g.Input("w", F([2, 2], 0.1f, 0.2f, 0.3f, 0.4f), tokenAxis: false);
        // Row 0 holds (token 1, slot 1): weight 0.4; row 1 is padding (-1): zero.
        var ptt = g.Input("ptt", I([2], 1, -1));
        var pts = g.Input("pts", I([2], 1, -1));
        var a = Floats(g.Run1(g.B.SwiGlu("act", gate, up, null, w, ptt, pts)));
        Assert.That(a, Is.EqualTo(new[] { 0.4 * 2 * Silu(1), 0 }).Within(1e-6));
    }

    private static float[] Shared(int tokens, float? limit, bool gated)
    {
        var g = new OpGraph();
        var x = g.Input("x", F([tokens, 1], [.. new[] { 1f }.Take(tokens)]));
        var z = g.B.SharedExpert("shared", x, new ProjectionWeights(g.Weight("w1", F([1, 1], -15))),
            new ProjectionWeights(g.Weight("w3", F([1, 1], 12))), new ProjectionWeights(g.Weight("w2", F([1, 1], 1000))), limit,
            gated ? g.Weight("sg", F([1, 1], MathF.Log(3))) : null);
        var r = g.Run1(z);
        Assert.That(r.Shape, Is.EqualTo(new Shape(tokens, 1)));
        return Floats(r);
    }

    [Test]
    public void SharedExpert_T0_T1_clamp_and_qwen_gate()
    {
        Assert.That(Shared(0, 10, true), Is.Empty);
        // silu(-15) * clamp(12 -> 10) * 1000 = -0.0458853; the gate is not clamped from below.
        Assert.That(Shared(1, 10, false)[0], Is.EqualTo(Silu(-15) * 10 * 1000).Within(1e-8));
        Assert.That(Shared(1, null, false)[0], Is.EqualTo(Silu(-15) * 12 * 1000).Within(1e-8));
        // Qwen gate: sigmoid(1 * ln 3) = 0.75.
        Assert.That(Shared(1, 10, true)[0], Is.EqualTo(0.75 * Silu(-15) * 10 * 1000).Within(1e-8));
    }

    [Test]
    public void SharedExpert_with_fp8_ue8m0_weights()
    {
        // D = 2, Is = 1; all weights e4m3 1.0 times 2^(u - 127): w1 x2, w3 x1, w2 x0.5. x = [0.5, 0.5]:
        // g = 2, u = 1, a = silu(2), z = 0.5 * silu(2) per output.
        var g = new OpGraph();
        var x = g.Input("x", F([1, 2], 0.5f, 0.5f));
        HostTensor Q(int o, int i) => new(DType.F8E4M3, new Shape(o, i), [.. Enumerable.Repeat((byte)0x38, o * i)]);
        HostTensor S(byte u) => new(DType.UE8M0, new Shape(1, 1), [u]);
        var z = g.B.SharedExpert("shared", x, new ProjectionWeights(g.Weight("w1", Q(1, 2)), g.Weight("s1", S(128))),
            new ProjectionWeights(g.Weight("w3", Q(1, 2)), g.Weight("s3", S(127))),
            new ProjectionWeights(g.Weight("w2", Q(2, 1)), g.Weight("s2", S(126))), null);
        Assert.That(Floats(g.Run1(z)), Is.EqualTo(new[] { 0.5 * Silu(2), 0.5 * Silu(2) }).Within(1e-6));
    }
}
