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
    public static void Fp8Stripe(ReadOnlySpan<float> w, int rows, int i, bool powerOfTwoScales, Span<byte> q, Span<float> scales)
    {
        int bi = (i + Fp8Block - 1) / Fp8Block;
        scales[..bi].Clear();
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < i; c++)
            {
                int b = c / Fp8Block;
                scales[b] = Math.Max(scales[b], Math.Abs(w[r * i + c]));
            }
        }

        for (int b = 0; b < bi; b++)
        {
            float s = Math.Max(scales[b], 1e-12f) / 448f;
            scales[b] = powerOfTwoScales ? MathF.Pow(2, MathF.Ceiling(MathF.Log2(s))) : s;
        }

        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < i; c++)
            {
                q[r * i + c] = NumericFormats.F32ToE4M3(w[r * i + c] / scales[c / Fp8Block]);
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
                float amax = 1e-12f;
                for (int c = c0; c < c1; c++) { amax = Math.Max(amax, Math.Abs(row[c])); }
                byte u = NumericFormats.F32ToUE8M0(amax / 6f);
                scales[r * blocks + b] = u;
                // The scale is a power of two in the normal range, so multiplying by its inverse is
                // exactly the division.
                float inv = 1f / NumericFormats.UE8M0ToF32(u);
                for (int c = c0; c < c1; c += 2)
                {
                    int lo = NumericFormats.F32ToE2M1(row[c] * inv), hi = NumericFormats.F32ToE2M1(row[c + 1] * inv);
                    outRow[c / 2] = (byte)(lo | hi << 4);
                }
            }
        }
    }
}
