using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Accel.Types;

namespace Accel.Moe;

/// <summary>Weight quantisers that produce checkpoint-layout tensors (used for fixtures and benchmarks).</summary>
public static class Quantize
{
    /// <summary>Rows of one FP8 scale block (and the stripe <see cref="Fp8Stripe"/> quantises).</summary>
    public const int Fp8Block = 128;

    /// <summary>Columns of one FP4 scale.</summary>
    public const int Fp4Block = 32;

    /// <summary>
    /// FP8 e4m3 with one scale per 128x128 block: scale = max|w| / 448 over the block (rounded up
    /// to a power of two and stored as UE8M0 when asked, else stored as f32).
    /// </summary>
    public static (HostTensor Weight, HostTensor Scale) Fp8Blocks(ReadOnlySpan<float> w, int o, int i, bool powerOfTwoScales)
    {
        int bo = (o + Fp8Block - 1) / Fp8Block, bi = (i + Fp8Block - 1) / Fp8Block;
        var scales = new float[bo * bi];
        var q = new byte[o * i];
        for (int s = 0; s < bo; s++)
        {
            int r0 = s * Fp8Block, rows = Math.Min(Fp8Block, o - r0);
            Fp8Stripe(w.Slice(r0 * i, rows * i), rows, i, powerOfTwoScales, q.AsSpan(r0 * i, rows * i), scales.AsSpan(s * bi, bi));
        }

        var weight = new HostTensor(DType.F8E4M3, new Shape(o, i), q);
        if (!powerOfTwoScales)
        {
            return (weight, HostTensor.FromF32(new Shape(bo, bi), scales));
        }

        var bytes = scales.Select(NumericFormats.F32ToUE8M0).ToArray();
        return (weight, new HostTensor(DType.UE8M0, new Shape(bo, bi), bytes));
    }

    /// <summary>
    /// Quantises one stripe of at most 128 rows ([rows, i], row-major) to FP8 e4m3 as
    /// <see cref="Fp8Blocks"/> does: <paramref name="scales"/> receives the stripe's ceil(i/128)
    /// block scales as f32 (powers of two when asked), <paramref name="q"/> the codes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fp8Stripe(ReadOnlySpan<float> w, int rows, int i, bool powerOfTwoScales, Span<byte> q, Span<float> scales)
    {
        int bi = (i + Fp8Block - 1) / Fp8Block;
        scales[..bi].Clear();
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < bi; b++)
            {
                int c0 = b * Fp8Block;
                scales[b] = Math.Max(scales[b], AbsMax(w.Slice(r * i + c0, Math.Min(Fp8Block, i - c0))));
            }
        }

        for (int b = 0; b < bi; b++)
        {
            float s = Math.Max(scales[b], 1e-12f) / 448f;
            scales[b] = powerOfTwoScales ? MathF.Pow(2, MathF.Ceiling(MathF.Log2(s))) : s;
        }

        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < bi; b++)
            {
                float s = scales[b];
                int c = b * Fp8Block, c1 = Math.Min(i, (b + 1) * Fp8Block);
                if (Avx512F.IsSupported)
                {
                    var vs = Vector512.Create(s);
                    for (; c + 16 <= c1; c += 16)
                    {
                        E4M3x16(Vector512.Create(w.Slice(r * i + c, 16)) / vs).CopyTo(q.Slice(r * i + c, 16));
                    }
                }

                for (; c < c1; c++)
                {
                    q[r * i + c] = NumericFormats.F32ToE4M3(w[r * i + c] / s);
                }
            }
        }
    }

    /// <summary>
    /// FP4 e2m1 packed two per byte (even column in the low nibble) as u8 [o, i/2], with one UE8M0
    /// scale per row and 32 columns: scale = 2^ceil(log2(max|w| / 6)).
    /// </summary>
    public static (HostTensor Weight, HostTensor Scale) Fp4Packed(ReadOnlySpan<float> w, int o, int i)
    {
        int blocks = (i + Fp4Block - 1) / Fp4Block;
        var scaleBytes = new byte[o * blocks];
        var packed = new byte[o * i / 2];
        Fp4Rows(w, o, i, packed, scaleBytes);
        return (new HostTensor(DType.U8, new Shape(o, i / 2), packed), new HostTensor(DType.UE8M0, new Shape(o, blocks), scaleBytes));
    }

    /// <summary>
    /// Quantises <paramref name="rows"/> rows ([rows, i], row-major, <paramref name="i"/> even) to
    /// packed FP4 as <see cref="Fp4Packed"/> does: <paramref name="packed"/> receives rows * i / 2
    /// bytes, <paramref name="scales"/> rows * ceil(i/32) UE8M0 bytes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fp4Rows(ReadOnlySpan<float> w, int rows, int i, Span<byte> packed, Span<byte> scales)
    {
        if (i % 2 != 0)
        {
            throw new ArgumentException($"Packed FP4 needs an even row length, got {i}.", nameof(i));
        }

        int blocks = (i + Fp4Block - 1) / Fp4Block;
        for (int r = 0; r < rows; r++)
        {
            var row = w.Slice(r * i, i);
            var outRow = packed.Slice(r * i / 2, i / 2);
            for (int b = 0; b < blocks; b++)
            {
                int c0 = b * Fp4Block, c1 = Math.Min(i, c0 + Fp4Block);
                float amax = Math.Max(1e-12f, AbsMax(row[c0..c1]));
                byte u = NumericFormats.F32ToUE8M0(amax / 6f);
                scales[r * blocks + b] = u;
                // The scale is a power of two in the normal range, so multiplying by its inverse is
                // exactly the division.
                float inv = 1f / NumericFormats.UE8M0ToF32(u);
                if (c1 - c0 == Fp4Block && Avx512F.IsSupported)
                {
                    Fp4Block32(row.Slice(c0, Fp4Block), inv, outRow.Slice(c0 / 2, Fp4Block / 2));
                    continue;
                }

                for (int c = c0; c < c1; c += 2)
                {
                    int lo = NumericFormats.F32ToE2M1(row[c] * inv), hi = NumericFormats.F32ToE2M1(row[c + 1] * inv);
                    outRow[c / 2] = (byte)(lo | hi << 4);
                }
            }
        }
    }

    /// <summary>The largest |value| of a block (0 when empty); exact, so any evaluation order gives the same.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float AbsMax(ReadOnlySpan<float> block)
    {
        float m = 0;
        int c = 0;
        if (Vector512.IsHardwareAccelerated && block.Length >= 16)
        {
            var v = Vector512<float>.Zero;
            for (; c + 16 <= block.Length; c += 16) { v = Vector512.Max(v, Vector512.Abs(Vector512.Create(block.Slice(c, 16)))); }
            var h = Vector128.Max(Vector256.Max(v.GetLower(), v.GetUpper()).GetLower(), Vector256.Max(v.GetLower(), v.GetUpper()).GetUpper());
            m = Math.Max(Math.Max(h[0], h[1]), Math.Max(h[2], h[3]));
        }

        for (; c < block.Length; c++) { m = Math.Max(m, Math.Abs(block[c])); }
        return m;
    }

    /// <summary>
    /// One full block of 32 values times <paramref name="inv"/> to 16 packed e2m1 bytes, with the
    /// thresholds of <see cref="NumericFormats.F32ToE2M1"/> (a value on a midpoint keeps the lower code).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Fp4Block32(ReadOnlySpan<float> block, float inv, Span<byte> packed)
    {
        var scale = Vector512.Create(inv);
        for (int half = 0; half < 2; half++)
        {
            var x = Vector512.Create(block.Slice(half * 16, 16)) * scale;
            var a = Vector512.Abs(x);
            var code = -(Vector512.GreaterThan(a, Vector512.Create(0.25f)).AsInt32() + Vector512.GreaterThan(a, Vector512.Create(0.75f)).AsInt32()
                + Vector512.GreaterThan(a, Vector512.Create(1.25f)).AsInt32() + Vector512.GreaterThan(a, Vector512.Create(1.75f)).AsInt32()
                + Vector512.GreaterThan(a, Vector512.Create(2.5f)).AsInt32() + Vector512.GreaterThan(a, Vector512.Create(3.5f)).AsInt32()
                + Vector512.GreaterThan(a, Vector512.Create(5f)).AsInt32());

            code |= Vector512.LessThan(x, Vector512<float>.Zero).AsInt32() & Vector512.Create(8);
            // Lanes (2n, 2n+1) share a 64-bit lane: low nibble from the even element, high from the odd.
            var pairs = code.AsUInt64();
            var bytes = (pairs & Vector512.Create(0xFUL)) | (Vector512.ShiftRightLogical(pairs, 32) << 4);
            ulong eight = Avx512F.ConvertToVector128Byte(bytes).AsUInt64().ToScalar();
            MemoryMarshal.Write(packed.Slice(half * 8, 8), in eight);
        }
    }

    /// <summary>
    /// 16 values to e4m3 codes exactly as <see cref="NumericFormats.F32ToE4M3"/>: saturate at 448,
    /// subnormals rounded to even in steps of 2^-9, normals by rounding the mantissa bits to even,
    /// the sign from the sign bit (so -0 keeps it), NaN as 0x7F.
    /// </summary>
    private static Vector128<byte> E4M3x16(Vector512<float> x)
    {
        var a = Vector512.Min(Vector512.Abs(x), Vector512.Create(448f));
        var bits = a.AsInt32();
        var m = Vector512.ShiftRightArithmetic(bits, 20) & Vector512.Create(7);
        var rest = bits & Vector512.Create(0xFFFFF);
        var half = Vector512.Create(0x80000);
        var up = Vector512.GreaterThan(rest, half) | (Vector512.Equals(rest, half) & Vector512.Equals(m & Vector512<int>.One, Vector512<int>.One));
        var normal = Vector512.ShiftLeft(Vector512.ShiftRightArithmetic(bits, 23) - Vector512.Create(120), 3) + m - up;
        // a * 512 < 2^23, so adding and taking away 2^23 rounds it to an integer, ties to even.
        var sub = Vector512.ConvertToInt32((a * Vector512.Create(512f) + Vector512.Create(8388608f)) - Vector512.Create(8388608f));
        var code = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(0.015625f)).AsInt32(), sub, normal);
        code |= Vector512.ShiftLeft(Vector512.ShiftRightLogical(x.AsInt32(), 31), 7);
        code = Vector512.ConditionalSelect(Vector512.Equals(x, x).AsInt32(), code, Vector512.Create(0x7F));
        return Avx512F.ConvertToVector128Byte(code);
    }
}
