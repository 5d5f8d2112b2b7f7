using Accel.Types;
using NUnit.Framework;

namespace Accel.Kernels.Tests;

/// <summary>The kernels' arithmetic decoders and encoders against the host formats, exhaustively where possible.</summary>
[TestFixture]
public sealed class DecodeTests
{
    [Test]
    public void E4M3MatchesTheHostTableForAllBytes()
    {
        for (int b = 0; b < 256; b++)
        {
            AssertSame(Decode.E4M3(b), NumericFormats.E4M3ToF32((byte)b), $"e4m3 0x{b:X2}");
        }
    }

    [Test]
    public void F16AndBF16MatchTheHostForAllPatterns()
    {
        for (int bits = 0; bits < 65536; bits++)
        {
            AssertSame(Decode.F16((ushort)bits), NumericFormats.F16ToF32((ushort)bits), $"f16 0x{bits:X4}");
            AssertSame(Decode.BF16((ushort)bits), NumericFormats.BF16ToF32((ushort)bits), $"bf16 0x{bits:X4}");
        }
    }

    [Test]
    public void E2M1AndUE8M0MatchTheHost()
    {
        for (int n = 0; n < 16; n++)
        {
            AssertSame(Decode.E2M1(n), NumericFormats.E2M1ToF32(n), $"e2m1 {n}");
        }

        for (int u = 0; u < 256; u++)
        {
            AssertSame(Decode.UE8M0(u), NumericFormats.UE8M0ToF32((byte)u), $"ue8m0 {u}");
        }
    }

    [Test]
    public void E4M3EncodingMatchesTheHostSearch()
    {
        var r = new Random(7);
        var values = new List<float> { 0f, -0f, 448f, -448f, 1e-9f, -1e-9f, 0.0009765625f, 0.001953125f, 0.0029296875f };
        for (int code = 0; code < 0x7F; code++)
        {
            float v = NumericFormats.E4M3ToF32((byte)code);
            float next = NumericFormats.E4M3ToF32((byte)(code + 1));
            values.Add(v);
            values.Add(-v);
            if (code < 0x7E)
            {
                values.Add((v + next) / 2); // exact ties between neighbouring codes
            }
        }

        for (int i = 0; i < 20000; i++)
        {
            values.Add((float)((r.NextDouble() * 2 - 1) * Math.Pow(2, r.Next(-12, 9))));
        }

        foreach (float v in values)
        {
            Assert.That(QuantKernels.EncodeE4M3(v), Is.EqualTo(NumericFormats.F32ToE4M3(v)), $"encode {v:R}");
        }

        Assert.That(QuantKernels.EncodeE4M3(float.NaN), Is.EqualTo(NumericFormats.F32ToE4M3(float.NaN)));
    }

    [Test]
    public void CeilPowerOfTwoIsExact()
    {
        foreach (float s in new[] { 1f, 0.75f, 1.0000001f, 3f, 4f, 2.2e-7f, 1e-4f / 448f, 1000f })
        {
            float expected = MathF.Pow(2, MathF.Ceiling(MathF.Log2(s)));
            Assert.That(QuantKernels.CeilPowerOfTwo(s), Is.EqualTo(expected), $"s = {s:R}");
        }
    }

    [Test]
    public void KernelMathIsAccurate()
    {
        for (double x = -30; x <= 30; x += 0.37)
        {
            Assert.That(KernelMath.Exp((float)x), Is.EqualTo(Math.Exp(x)).Within(3e-4).Percent, $"exp {x}");
            double softplus = x > 20 ? x : x < -20 ? Math.Exp(x) : Math.Log(1 + Math.Exp(x));
            Assert.That(RouterKernels.Softplus((float)x), Is.EqualTo(softplus).Within(3e-4).Percent, $"softplus {x}");
        }
    }

    private static void AssertSame(float actual, float expected, string what)
    {
        if (float.IsNaN(expected))
        {
            Assert.That(float.IsNaN(actual), Is.True, what);
            return;
        }

        Assert.That(BitConverter.SingleToInt32Bits(actual), Is.EqualTo(BitConverter.SingleToInt32Bits(expected)), what);
    }
}
