using Accel.Errors;
using Accel.Graph;
using Accel.Types;
using static Accel.Core.Tests.Graph.OpGraph;

namespace Accel.Core.Tests.Graph;

/// <summary>
/// OP-17a/b/c on the reference backend. The dequant ops have no token axis: their "T = 0 / 1"
/// cases are weights with 0 and 1 output rows.
/// </summary>
public sealed class QuantOpTests
{
    private static HostTensor Bytes(DType type, long[] shape, params byte[] b) => new(type, new Shape(shape), b);

    private static float[] Dequant(HostTensor weight, HostTensor scale, bool fp4 = false)
    {
        var g = new OpGraph();
        var w = g.Weight("w", weight);
        var s = g.Weight("s", scale);
        var r = g.Run1(fp4 ? g.B.DequantFp4("dq", w, s) : g.B.DequantFp8Block("dq", w, s));
        Assert.That(r.Shape, Is.EqualTo(weight.Shape));
        return Floats(r);
    }

    [Test]
    public void DequantFp8Block_zero_and_one_rows()
    {
        Assert.That(Dequant(Bytes(DType.F8E4M3, [0, 129]), F([0, 2])), Is.Empty);
        // e4m3 codes: 2^-9 (smallest subnormal), 2^-6, 1.5, -1, 448 (max), NaN; block scale 2.
        var row = Dequant(Bytes(DType.F8E4M3, [1, 6], 0x01, 0x08, 0x3C, 0xB8, 0x7E, 0x7F), F([1, 1], 2));
        Assert.That(row[..5], Is.EqualTo(new[] { 2 * 0.001953125f, 2 * 0.015625f, 3f, -2f, 896f }));
        Assert.That(float.IsNaN(row[5]), Is.True);
    }

    [Test]
    public void DequantFp8Block_partial_blocks_with_f32_and_ue8m0_scales()
    {
        // [130, 129] of e4m3 1.0: blocks [0..127] x [0..127], [0..127] x [128], [128..129] x [0..127], [128..129] x [128].
        var w = Bytes(DType.F8E4M3, [130, 129], [.. Enumerable.Repeat((byte)0x38, 130 * 129)]);
        var f32 = Dequant(w, F([2, 2], 1, 2, 4, 8));
        float At(float[] v, int r, int c) => v[r * 129 + c];
        Assert.That(new[] { At(f32, 127, 127), At(f32, 127, 128), At(f32, 128, 0), At(f32, 129, 128) }, Is.EqualTo(new[] { 1f, 2, 4, 8 }));
        Assert.That(f32.Sum(), Is.EqualTo(128 * 128 * 1 + 128 * 1 * 2 + 2 * 128 * 4 + 2 * 1 * 8));
        var ue = Dequant(w, Bytes(DType.UE8M0, [2, 2], 127, 128, 126, 130));
        Assert.That(new[] { At(ue, 0, 0), At(ue, 0, 128), At(ue, 129, 0), At(ue, 129, 128) }, Is.EqualTo(new[] { 1f, 2, 0.5f, 8 }));
    }

    [Test]
    public void DequantFp8Block_stacked_experts_use_their_own_scales()
    {
        var w = Bytes(DType.F8E4M3, [2, 3, 130], [.. Enumerable.Repeat((byte)0x38, 2 * 3 * 130)]);
        var v = Dequant(w, F([2, 1, 2], 1, 1, 3, 5));
        Assert.That(new[] { v[0], v[129], v[390], v[390 + 127], v[390 + 128], v[^1] }, Is.EqualTo(new[] { 1f, 1, 3, 3, 5, 5 }));
    }

    [Test]
    public void DequantFp4_zero_and_one_rows_and_nibble_order()
    {
        Assert.That(Dequant(Bytes(DType.F4E2M1, [0, 34]), Bytes(DType.UE8M0, [0, 2]), fp4: true), Is.Empty);
        // 0x21: even column = low nibble 1 (0.5), odd column = high nibble 2 (1.0); 0xF9: 9 (-0.5) then 15 (-6). Scale 2^1.
        Assert.That(Dequant(Bytes(DType.F4E2M1, [1, 4], 0x21, 0xF9), Bytes(DType.UE8M0, [1, 1], 128), fp4: true),
            Is.EqualTo(new[] { 1f, 2, -1, -12 }));
    }

    [Test]
    public void DequantFp4_decodes_every_nibble()
    {
        // Byte k holds nibbles 2k (low) and 2k + 1 (high), so columns 0..15 run through the whole table.
        var packed = Enumerable.Range(0, 16).Select(k => (byte)(((2 * k) & 0xF) | (((2 * k + 1) & 0xF) << 4))).ToArray();
        var v = Dequant(Bytes(DType.F4E2M1, [1, 32], packed), Bytes(DType.UE8M0, [1, 1], 127), fp4: true);
        float[] table = [0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0f, -0.5f, -1, -1.5f, -2, -3, -4, -6];
        Assert.That(v, Is.EqualTo(table.Concat(table)));
    }

    [Test]
    public void DequantFp4_partial_scale_block()
    {
        // [2, 34]: every value 1.0 (nibble 2); row 0 scales 2^0, 2^2; row 1 scales 2^-1, 2^0.
        var w = Bytes(DType.F4E2M1, [2, 34], [.. Enumerable.Repeat((byte)0x22, 34)]);
        var v = Dequant(w, Bytes(DType.UE8M0, [2, 2], 127, 129, 126, 127), fp4: true);
        Assert.That(new[] { v[31], v[32], v[33], v[34], v[34 + 31], v[34 + 32] }, Is.EqualTo(new[] { 1f, 4, 4, 0.5f, 0.5f, 1 }));
    }

    private static (byte[] Q, float[] S) ActQuant(bool powerOfTwo, int rows, int cols, float[] x)
    {
        var g = new OpGraph();
        var (q, s) = g.B.ActQuantFp8("aq", g.Input("x", F([rows, cols], x)), powerOfTwo);
        var r = g.Run(q, s);
        Assert.That(r[0].Shape, Is.EqualTo(new Shape(rows, cols)));
        Assert.That(r[1].Shape, Is.EqualTo(new Shape(rows, cols / 128)));
        return (r[0].ReadOnlyBytes.ToArray(), Floats(r[1]));
    }

    private static float[] Row(params float[] head)
    {
        var v = Enumerable.Repeat(0.5f, 128).ToArray();
        head.CopyTo(v, 0);
        return v;
    }

    [Test]
    public void ActQuantFp8_T0() => Assert.That(ActQuant(true, 0, 128, []).Q, Is.Empty);

    [Test]
    public void ActQuantFp8_power_of_two_scales()
    {
        // amax 3: 3 / 448 = 0.0067 rounds up to 2^-7; 3 -> 384 (0x7C), -3 -> 0xFC, 1 -> 128 (0x70), 0.5 -> 64 (0x68).
        var (q, s) = ActQuant(true, 1, 128, Row(3, -3, 0, 1));
        Assert.That(s, Is.EqualTo(new[] { 0.0078125f }));
        Assert.That(q[..5], Is.EqualTo(new byte[] { 0x7C, 0xFC, 0x00, 0x70, 0x68 }));
    }

    [Test]
    public void ActQuantFp8_plain_scales_map_the_maximum_to_448()
    {
        // s = 3 / 448: 3 -> 448 (0x7E); 1 -> 149.3, nearest e4m3 144 (0x71).
        var (q, s) = ActQuant(false, 1, 128, Row(3, -3, 0, 1));
        Assert.That(s, Is.EqualTo(new[] { 3f / 448f }));
        Assert.That(q[..4], Is.EqualTo(new byte[] { 0x7E, 0xFE, 0x00, 0x71 }));
    }

    [Test]
    public void ActQuantFp8_zero_rows_use_the_floor_and_blocks_are_independent()
    {
        var x = new float[2 * 256];
        x[256 + 5] = 3;
        x[256 + 200] = -100;
        var (q, s) = ActQuant(true, 2, 256, x);
        // Row 0 is all zero: amax floor 1e-4, 1e-4 / 448 = 2.2e-7 rounds up to 2^-22.
        Assert.That(s, Is.EqualTo(new[] { MathF.Pow(2, -22), MathF.Pow(2, -22), MathF.Pow(2, -7), MathF.Pow(2, -2) }));
        Assert.That(q.Take(256), Is.All.EqualTo((byte)0));
        // 3 / 2^-7 = 384 (0x7C). -100 / 2^-2 = -400 lies halfway between -384 and -416: the tie goes
        // to the even mantissa, -384 (0xFC).
        Assert.That(new[] { q[256 + 5], q[256 + 200] }, Is.EqualTo(new byte[] { 0x7C, 0xFC }));
        var (_, plain) = ActQuant(false, 2, 256, x);
        Assert.That(plain, Is.EqualTo(new[] { 1e-4f / 448f, 1e-4f / 448f, 3f / 448f, 100f / 448f }));
    }

    [Test]
    public void ActQuantFp8_needs_whole_blocks()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, 136);
        Assert.That(Assert.Throws<GraphValidationException>(() => b.ActQuantFp8("aq", x, true))!.Message,
            Does.Contain("column count 136 must be a multiple of 128"));
    }
}
