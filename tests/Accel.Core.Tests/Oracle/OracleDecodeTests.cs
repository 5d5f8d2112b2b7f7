using Accel.Types;

namespace Accel.Core.Tests.Oracle;

/// <summary>The oracle's own decoders against values worked out by hand from the format definitions.</summary>
public sealed class OracleDecodeTests
{
    // e4m3fn: 0x38 = 0.0111.000 = 2^(7-7) = 1; 0x3C = 1.5; 0x01 = 1/8 * 2^-6 = 2^-9; 0x08 = 2^(1-7);
    // 0x7E = 0.1111.110 = 1.75 * 2^8 = 448; 0xB8 = -1; 0x80 = -0.
    [TestCase((byte)0x38, 1.0)]
    [TestCase((byte)0x3C, 1.5)]
    [TestCase((byte)0x01, 0.001953125)]
    [TestCase((byte)0x08, 0.015625)]
    [TestCase((byte)0x7E, 448.0)]
    [TestCase((byte)0xB8, -1.0)]
    [TestCase((byte)0x80, -0.0)]
    public void E4M3(byte code, double value) => Assert.That(OracleDecode.E4M3(code), Is.EqualTo(value));

    [Test]
    public void E4M3_nan() => Assert.That(double.IsNaN(OracleDecode.E4M3(0x7F)) && double.IsNaN(OracleDecode.E4M3(0xFF)), Is.True);

    [Test]
    public void E2M1_table() =>
        Assert.That(Enumerable.Range(0, 16).Select(OracleDecode.E2M1),
            Is.EqualTo(new[] { 0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6 }));

    [Test]
    public void UE8M0_and_BF16()
    {
        Assert.That(new[] { OracleDecode.UE8M0(127), OracleDecode.UE8M0(130), OracleDecode.UE8M0(120) }, Is.EqualTo(new[] { 1, 8, 1 / 128.0 }));
        Assert.That(double.IsNaN(OracleDecode.UE8M0(255)), Is.True);
        Assert.That(new[] { OracleDecode.BF16(0x3F80), OracleDecode.BF16(0xC040), OracleDecode.BF16(0x3E00) }, Is.EqualTo(new[] { 1, -3, 0.125 }));
    }

    [Test]
    public void FP8_matrix_with_a_partial_block_and_both_scale_kinds()
    {
        // [1, 130] of e4m3 1.5 (0x3C): columns 0..127 use scale 2, columns 128..129 scale 0.25.
        var t = new Dictionary<string, HostTensor>
        {
            ["w.weight"] = new(DType.F8E4M3, new Shape(1, 130), [.. Enumerable.Repeat((byte)0x3C, 130)]),
            ["w.weight_scale_inv"] = HostTensor.FromF32(new Shape(1, 2), [2f, 0.25f]),
        };
        var m = OracleDecode.Matrix(t, "w.weight", 1, 130);
        Assert.That(new[] { m[0, 0], m[0, 127], m[0, 128], m[0, 129] }, Is.EqualTo(new[] { 3, 3, 0.375, 0.375 }));
        t["w.weight_scale_inv"] = new HostTensor(DType.UE8M0, new Shape(1, 2), [128, 125]);
        m = OracleDecode.Matrix(t, "w.weight", 1, 130);
        Assert.That(new[] { m[0, 0], m[0, 129] }, Is.EqualTo(new[] { 3, 0.375 }));
    }

    [Test]
    public void FP4_matrix_low_nibble_first_with_a_partial_block()
    {
        // Row of 34 values packed in 17 bytes; byte 0 = 0x7A: column 0 = 0xA (-1), column 1 = 0x7 (6);
        // the rest 0x31: 0.5 then 1.5. Scales 2^1 for columns 0..31, 2^-1 for 32..33.
        var bytes = Enumerable.Repeat((byte)0x31, 17).ToArray();
        bytes[0] = 0x7A;
        var t = new Dictionary<string, HostTensor>
        {
            ["e.weight"] = new(DType.U8, new Shape(1, 17), bytes),
            ["e.scale"] = new(DType.UE8M0, new Shape(1, 2), [128, 126]),
        };
        var m = OracleDecode.Matrix(t, "e.weight", 1, 34);
        Assert.That(new[] { m[0, 0], m[0, 1], m[0, 2], m[0, 3], m[0, 32], m[0, 33] }, Is.EqualTo(new[] { -2, 12, 1, 3, 0.25, 0.75 }));
    }
}
