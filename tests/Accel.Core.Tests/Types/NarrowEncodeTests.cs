using Accel.Types;

namespace Accel.Core.Tests.Types;

/// <summary>
/// The arithmetic e4m3 and e2m1 encoders against a nearest-code search over the decode tables
/// (the definition: nearest value, e4m3 ties to the even code, e2m1 ties to the smaller
/// magnitude, saturation at the largest finite value), over a dense sweep of float bit patterns.
/// </summary>
[TestFixture]
public sealed class NarrowEncodeTests
{
    private static byte SearchE4M3(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7F;
        }

        byte sign = (byte)(value < 0 || (value == 0 && float.IsNegative(value)) ? 0x80 : 0);
        float a = MathF.Min(MathF.Abs(value), 448f);
        int best = 0;
        float bestErr = float.PositiveInfinity;
        for (int code = 0; code < 0x7F; code++)
        {
            float err = MathF.Abs(NumericFormats.E4M3ToF32((byte)code) - a);
            if (err < bestErr || (err == bestErr && (code & 1) == 0))
            {
                best = code;
                bestErr = err;
            }
        }

        return (byte)(sign | best);
    }

    private static byte SearchE2M1(float value)
    {
        int best = 0;
        float bestErr = float.PositiveInfinity;
        float a = MathF.Min(MathF.Abs(value), 6f);
        for (int code = 0; code < 8; code++)
        {
            float err = MathF.Abs(NumericFormats.E2M1ToF32(code) - a);
            if (err < bestErr)
            {
                best = code;
                bestErr = err;
            }
        }

        return (byte)(best | (value < 0 ? 8 : 0));
    }

    /// <summary>Every 97th bit pattern from 0 up to past 1024, both signs, plus every code value and midpoint.</summary>
    private static IEnumerable<float> Sweep()
    {
        for (uint bits = 0; bits < 0x44A00000u; bits += 97)
        {
            float v = BitConverter.UInt32BitsToSingle(bits);
            yield return v;
            yield return -v;
        }

        for (int code = 0; code < 0x7F; code++)
        {
            float v = NumericFormats.E4M3ToF32((byte)code), next = NumericFormats.E4M3ToF32((byte)(code + 1));
            yield return v;
            yield return -v;
            yield return (v + next) / 2;
            yield return BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits((v + next) / 2) + 1);
            yield return BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits((v + next) / 2) - 1);
        }

        foreach (float v in new[] { 0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5f, 6f, 7f, 448f, 464f, 1e9f })
        {
            yield return v;
            yield return -v;
        }

        yield return float.PositiveInfinity;
        yield return float.NegativeInfinity;
        yield return float.NaN;
        yield return -0f;
    }

    [Test]
    public void E4M3EncodeIsTheNearestCodeSearch()
    {
        int checkedCount = 0;
        foreach (float v in Sweep())
        {
            byte expected = SearchE4M3(v), got = NumericFormats.F32ToE4M3(v);
            if (got != expected)
            {
                Assert.Fail($"F32ToE4M3({v:R}) = 0x{got:X2}, nearest-code search gives 0x{expected:X2}");
            }

            checkedCount++;
        }

        Assert.That(checkedCount, Is.GreaterThan(20_000_000));
    }

    [Test]
    public void E2M1EncodeIsTheNearestCodeSearch()
    {
        foreach (float v in Sweep())
        {
            byte expected = SearchE2M1(v), got = NumericFormats.F32ToE2M1(v);
            if (got != expected)
            {
                Assert.Fail($"F32ToE2M1({v:R}) = {got}, nearest-code search gives {expected}");
            }
        }
    }
}
