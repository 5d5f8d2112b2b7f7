using Accel.Types;

namespace Accel.Moe;

/// <summary>Weight quantisers that produce checkpoint-layout tensors (used for fixtures and benchmarks).</summary>
public static class Quantize
{
    /// <summary>
    /// FP8 e4m3 with one scale per 128x128 block: scale = max|w| / 448 over the block (rounded up
    /// to a power of two and stored as UE8M0 when asked, else stored as f32).
    /// </summary>
    public static (HostTensor Weight, HostTensor Scale) Fp8Blocks(ReadOnlySpan<float> w, int o, int i, bool powerOfTwoScales)
    {
        int bo = (o + 127) / 128, bi = (i + 127) / 128;
        var scales = new float[bo * bi];
        for (int r = 0; r < o; r++)
        {
            for (int c = 0; c < i; c++)
            {
                int b = r / 128 * bi + c / 128;
                scales[b] = Math.Max(scales[b], Math.Abs(w[r * i + c]));
            }
        }

        for (int b = 0; b < scales.Length; b++)
        {
            float s = Math.Max(scales[b], 1e-12f) / 448f;
            scales[b] = powerOfTwoScales ? MathF.Pow(2, MathF.Ceiling(MathF.Log2(s))) : s;
        }

        var q = new byte[o * i];
        for (int r = 0; r < o; r++)
        {
            for (int c = 0; c < i; c++)
            {
                q[r * i + c] = NumericFormats.F32ToE4M3(w[r * i + c] / scales[r / 128 * bi + c / 128]);
            }
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
    /// FP4 e2m1 packed two per byte (even column in the low nibble) as u8 [o, i/2], with one UE8M0
    /// scale per row and 32 columns: scale = 2^ceil(log2(max|w| / 6)).
    /// </summary>
    public static (HostTensor Weight, HostTensor Scale) Fp4Packed(ReadOnlySpan<float> w, int o, int i)
    {
        int blocks = (i + 31) / 32;
        var scaleBytes = new byte[o * blocks];
        var packed = new byte[o * i / 2];
        for (int r = 0; r < o; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                float amax = 1e-12f;
                for (int c = b * 32; c < Math.Min(i, b * 32 + 32); c++) { amax = Math.Max(amax, Math.Abs(w[r * i + c])); }
                byte u = NumericFormats.F32ToUE8M0(amax / 6f);
                scaleBytes[r * blocks + b] = u;
                float s = NumericFormats.UE8M0ToF32(u);
                for (int c = b * 32; c < Math.Min(i, b * 32 + 32); c++)
                {
                    int nib = NumericFormats.F32ToE2M1(w[r * i + c] / s);
                    int at = (r * i + c) / 2;
                    packed[at] |= (byte)((c & 1) == 0 ? nib : nib << 4);
                }
            }
        }

        return (new HostTensor(DType.U8, new Shape(o, i / 2), packed), new HostTensor(DType.UE8M0, new Shape(o, blocks), scaleBytes));
    }
}
