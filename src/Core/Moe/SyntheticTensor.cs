using Accel.Types;

namespace Accel.Moe;

/// <summary>How one synthetic weight is stored.</summary>
public enum SyntheticStorage
{
    /// <summary>fp32.</summary>
    F32,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>FP8 e4m3 with f32 128x128 block scales (<c>_scale_inv</c>).</summary>
    Fp8F32Scales,
    /// <summary>FP8 e4m3 with UE8M0 128x128 block scales (<c>_scale_inv</c>).</summary>
    Fp8Ue8m0Scales,
    /// <summary>FP4 e2m1 packed two per byte with UE8M0 1x32 scales (<c>.scale</c>).</summary>
    Fp4,
}

/// <summary>
/// One synthetic weight [<paramref name="Out"/>, <paramref name="In"/>] of uniform values with
/// standard deviation <paramref name="Std"/>, stored as <paramref name="Storage"/>.
/// </summary>
public sealed record SyntheticTensor(string Name, int Out, int In, SyntheticStorage Storage, double Std)
{
    /// <summary>The name of the scale tensor, or null for a format without one.</summary>
    public string? ScaleName => Storage switch
    {
        SyntheticStorage.Fp8F32Scales or SyntheticStorage.Fp8Ue8m0Scales => Name + "_scale_inv",
        SyntheticStorage.Fp4 => Name[..^".weight".Length] + ".scale",
        _ => null,
    };

    /// <summary>Whether the stored tensor is the vector [In] rather than [1, In] (f32 only).</summary>
    public bool Vector { get; init; }

    /// <summary>Row stripes the generator fills one at a time (128 rows: one FP8 block row).</summary>
    public int Stripes => (Out + Quantize.Fp8Block - 1) / Quantize.Fp8Block;

    /// <summary>Bytes of the stored weight.</summary>
    public long DataBytes => Storage switch
    {
        SyntheticStorage.F32 => 4L * Out * In,
        SyntheticStorage.BF16 => 2L * Out * In,
        SyntheticStorage.Fp4 => (long)Out * In / 2,
        _ => (long)Out * In,
    };

    /// <summary>Bytes of the stored scales (0 without).</summary>
    public long ScaleBytes => Storage switch
    {
        SyntheticStorage.Fp8F32Scales => 4L * Stripes * Blocks128(In),
        SyntheticStorage.Fp8Ue8m0Scales => (long)Stripes * Blocks128(In),
        SyntheticStorage.Fp4 => (long)Out * ((In + Quantize.Fp4Block - 1) / Quantize.Fp4Block),
        _ => 0,
    };

    /// <summary>The empty stored tensors (weight, then scale or null).</summary>
    internal (HostTensor Weight, HostTensor? Scale) Allocate()
    {
        int bi = Blocks128(In);
        return Storage switch
        {
            SyntheticStorage.F32 => (HostTensor.Zeros(DType.F32, Vector ? new Shape(In) : new Shape(Out, In)), null),
            SyntheticStorage.BF16 => (HostTensor.Zeros(DType.BF16, new Shape(Out, In)), null),
            SyntheticStorage.Fp8F32Scales => (HostTensor.Zeros(DType.F8E4M3, new Shape(Out, In)), HostTensor.Zeros(DType.F32, new Shape(Stripes, bi))),
            SyntheticStorage.Fp8Ue8m0Scales => (HostTensor.Zeros(DType.F8E4M3, new Shape(Out, In)), HostTensor.Zeros(DType.UE8M0, new Shape(Stripes, bi))),
            _ => (HostTensor.Zeros(DType.U8, new Shape(Out, In / 2)),
                HostTensor.Zeros(DType.UE8M0, new Shape(Out, (In + Quantize.Fp4Block - 1) / Quantize.Fp4Block))),
        };
    }

    /// <summary>
    /// Fills row stripe <paramref name="stripe"/> of <paramref name="weight"/> (and its scales): the
    /// values of stream (seed, name) at the stripe's element indices, quantised as <see cref="Quantize"/> does.
    /// </summary>
    internal void FillStripe(int seed, int stripe, HostTensor weight, HostTensor? scale, Span<float> values, Span<float> blockScales)
    {
        int r0 = stripe * Quantize.Fp8Block, rows = Math.Min(Quantize.Fp8Block, Out - r0), n = rows * In;
        var v = values[..n];
        CounterRandom.FillUniform(CounterRandom.Stream(seed, Name), (long)r0 * In, v, (float)(Std * Math.Sqrt(3)));
        int bi = Blocks128(In);
        switch (Storage)
        {
            case SyntheticStorage.F32:
                v.CopyTo(weight.AsSpan<float>().Slice(r0 * In, n));
                break;
            case SyntheticStorage.BF16:
                NumericFormats.F32ToHalfBits(v, weight.AsSpan<ushort>().Slice(r0 * In, n), DType.BF16);
                break;
            case SyntheticStorage.Fp8F32Scales:
                Quantize.Fp8Stripe(v, rows, In, false, weight.Bytes.Slice(r0 * In, n), scale!.AsSpan<float>().Slice(stripe * bi, bi));
                break;
            case SyntheticStorage.Fp8Ue8m0Scales:
                Quantize.Fp8Stripe(v, rows, In, true, weight.Bytes.Slice(r0 * In, n), blockScales[..bi]);
                var codes = scale!.Bytes.Slice(stripe * bi, bi);
                for (int b = 0; b < bi; b++) { codes[b] = NumericFormats.F32ToUE8M0(blockScales[b]); }
                break;
            default:
                int blocks = (In + Quantize.Fp4Block - 1) / Quantize.Fp4Block;
                Quantize.Fp4Rows(v, rows, In, weight.Bytes.Slice(r0 * In / 2, n / 2), scale!.Bytes.Slice(r0 * blocks, rows * blocks));
                break;
        }
    }

    private static int Blocks128(int n) => (n + Quantize.Fp8Block - 1) / Quantize.Fp8Block;
}
