using System.Runtime.CompilerServices;

namespace Accel.Types;

/// <summary>
/// Scalar conversions between the storage formats and fp32. Each is exact where the target
/// can represent the value; narrowing conversions round to nearest, ties to even.
/// </summary>
public static class NumericFormats
{
    /// <summary>Decodes a bfloat16 bit pattern.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BF16ToF32(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Encodes fp32 as bfloat16, round to nearest even (NaN stays NaN).</summary>
    public static ushort F32ToBF16(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((u >> 16) | 0x40);
        }

        uint rounding = 0x7FFF + ((u >> 16) & 1);
        return (ushort)((u + rounding) >> 16);
    }

    /// <summary>Decodes an IEEE binary16 bit pattern.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F16ToF32(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>Encodes fp32 as IEEE binary16 (round to nearest even).</summary>
    public static ushort F32ToF16(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>Encodes every value of <paramref name="source"/> as bf16 or f16 bits (<paramref name="type"/>) into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentException">The type is not a 16-bit float, or the spans differ in length.</exception>
    public static void F32ToHalfBits(ReadOnlySpan<float> source, Span<ushort> destination, DType type)
    {
        if (type is not (DType.BF16 or DType.F16) || source.Length != destination.Length)
        {
            throw new ArgumentException($"Expected bf16 or f16 and spans of one length, got {type} with {source.Length} and {destination.Length} elements.");
        }

        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = type == DType.BF16 ? F32ToBF16(source[i]) : F32ToF16(source[i]);
        }
    }

    /// <summary>Decodes every bf16 or f16 value (<paramref name="type"/>) of <paramref name="source"/> into <paramref name="destination"/> (exact).</summary>
    /// <exception cref="ArgumentException">The type is not a 16-bit float, or the spans differ in length.</exception>
    public static void HalfBitsToF32(ReadOnlySpan<ushort> source, Span<float> destination, DType type)
    {
        if (type is not (DType.BF16 or DType.F16) || source.Length != destination.Length)
        {
            throw new ArgumentException($"Expected bf16 or f16 and spans of one length, got {type} with {source.Length} and {destination.Length} elements.");
        }

        if (type == DType.BF16)
        {
            for (int i = 0; i < source.Length; i++) { destination[i] = BF16ToF32(source[i]); }
        }
        else
        {
            for (int i = 0; i < source.Length; i++) { destination[i] = F16ToF32(source[i]); }
        }
    }

    private static readonly float[] E4M3Table = BuildE4M3Table();

    private static float[] BuildE4M3Table()
    {
        var table = new float[256];
        for (int b = 0; b < 256; b++)
        {
            table[b] = DecodeE4M3Slow((byte)b);
        }

        return table;
    }

    private static float DecodeE4M3Slow(byte b)
    {
        int sign = (b >> 7) & 1;
        int exp = (b >> 3) & 0xF;
        int man = b & 0x7;
        float v;
        if (exp == 0xF && man == 0x7)
        {
            return float.NaN;
        }

        if (exp == 0)
        {
            v = man / 8f * MathF.Pow(2, -6);
        }
        else
        {
            v = (1 + man / 8f) * MathF.Pow(2, exp - 7);
        }

        return sign == 1 ? -v : v;
    }

    /// <summary>Decodes an FP8 e4m3fn byte (no infinities, S.1111.111 is NaN, max 448).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float E4M3ToF32(byte bits) => E4M3Table[bits];

    /// <summary>The 256-entry decode table of e4m3fn, for kernels that upload it.</summary>
    public static ReadOnlySpan<float> E4M3DecodeTable => E4M3Table;

    /// <summary>
    /// Encodes fp32 as e4m3fn: round to nearest even, saturating to ±448 (values beyond the
    /// range are clamped, as the DeepSeek quantiser clamps before the cast); NaN maps to NaN.
    /// </summary>
    public static byte F32ToE4M3(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7F;
        }

        byte sign = (byte)(value < 0 || (value == 0 && float.IsNegative(value)) ? 0x80 : 0);
        float a = MathF.Min(MathF.Abs(value), 448f);
        if (a < 0.015625f)
        {
            // Subnormal codes 0..7 step by 2^-9; rounding up to 8 lands on 2^-6, the first normal code.
            return (byte)(sign | (int)MathF.Round(a * 512f, MidpointRounding.ToEven));
        }

        // Normal codes: exponent field e + 7 and the top three of the 23 mantissa bits, rounded to
        // nearest even on the 20 bits dropped; a carry out of the mantissa moves to the next
        // exponent, which is the next code.
        int bits = BitConverter.SingleToInt32Bits(a);
        int e = (bits >> 23) - 127, m = (bits >> 20) & 7, rest = bits & 0xFFFFF;
        int up = rest > 0x80000 || (rest == 0x80000 && (m & 1) == 1) ? 1 : 0;
        return (byte)(sign | (((e + 7) << 3) + m + up));
    }

    private static readonly float[] E2M1Table = [0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f, -0f, -0.5f, -1f, -1.5f, -2f, -3f, -4f, -6f];

    /// <summary>The 16-entry decode table of e2m1 (bit 3 is the sign).</summary>
    public static ReadOnlySpan<float> E2M1DecodeTable => E2M1Table;

    /// <summary>Decodes one e2m1 nibble (low 4 bits of <paramref name="nibble"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float E2M1ToF32(int nibble) => E2M1Table[nibble & 0xF];

    /// <summary>Encodes fp32 as the nearest e2m1 nibble (a tie keeps the smaller magnitude), saturating at ±6.</summary>
    public static byte F32ToE2M1(float value)
    {
        // Nearest of 0, 0.5, 1, 1.5, 2, 3, 4, 6: the code is the number of midpoints below |value|
        // (a value on a midpoint keeps the lower code); NaN gives code 0.
        float a = MathF.Abs(value);
        int code = (a > 0.25f ? 1 : 0) + (a > 0.75f ? 1 : 0) + (a > 1.25f ? 1 : 0) + (a > 1.75f ? 1 : 0)
            + (a > 2.5f ? 1 : 0) + (a > 3.5f ? 1 : 0) + (a > 5f ? 1 : 0);
        return (byte)(code | (value < 0 ? 8 : 0));
    }

    /// <summary>
    /// Decodes a UE8M0 scale byte: 2^(u-127); 255 is NaN. Built from the bits without a branch and
    /// reading no static field, so the CPU kernels can inline it per scale block (a static read in a
    /// kernel compiled before its class is initialised costs a helper call in the loop and spilled
    /// accumulators). A kernel that applies a scale every 32 columns may do better with a table
    /// load (the FMA FP4 kernel reads one of image data).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float UE8M0ToF32(byte u)
    {
        // u << 23 is the exponent field. The two codes off the normal range take mantissa bit 22:
        // with exponent 0 it is 2^-127 (u = 0), with exponent 255 a quiet NaN (u = 255).
        int edge = ((u + 1) & 0xFF) - 2 >> 31; // -1 for u = 0 and u = 255, else 0
        return BitConverter.Int32BitsToSingle(u << 23 | (edge & 0x400000));
    }

    /// <summary>Encodes a positive power of two (or rounds up to one) as a UE8M0 byte.</summary>
    public static byte F32ToUE8M0(float value)
    {
        if (!(value > 0) || float.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "A UE8M0 scale must be positive and finite.");
        }

        int e = (int)MathF.Ceiling(MathF.Log2(value));
        return (byte)Math.Clamp(e + 127, 0, 254);
    }
}
