using Accel.Types;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>How a weight is stored, as the kernels see it.</summary>
internal enum WeightFormat
{
    /// <summary>fp32.</summary>
    F32,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>IEEE binary16.</summary>
    F16,
    /// <summary>FP8 e4m3, fp32 128x128 block scales.</summary>
    Fp8F32Scale,
    /// <summary>FP8 e4m3, UE8M0 128x128 block scales.</summary>
    Fp8E8Scale,
    /// <summary>FP4 e2m1, UE8M0 1x32 scales.</summary>
    Fp4,
}

/// <summary>
/// A weight [E, out, in] (E = 1 for a dense weight) in its stored format: pointers to the bytes
/// and the scales, and the addressing of a row and of its scales.
/// </summary>
internal readonly unsafe struct WeightMatrix
{
    public WeightMatrix(byte* data, byte* scale, WeightFormat format, int experts, int outDim, int inDim, bool exact,
        bool panels = false)
    {
        Panels = panels;
        Data = data;
        ScaleData = scale;
        Format = format;
        Experts = experts;
        Out = outDim;
        In = inDim;
        NeedsExactDecoder = exact;
        RowBytes = format switch
        {
            WeightFormat.F32 => inDim * 4L,
            WeightFormat.BF16 or WeightFormat.F16 => inDim * 2L,
            WeightFormat.Fp8F32Scale or WeightFormat.Fp8E8Scale => inDim,
            _ => inDim / 2,
        };
    }

    public byte* Data { get; }

    public byte* ScaleData { get; }

    public WeightFormat Format { get; }

    public int Experts { get; }

    public int Out { get; }

    public int In { get; }

    public long RowBytes { get; }

    /// <summary>True when special codes (fp8 NaN, f16 Inf/NaN) are present and the fast decoders would not be exact.</summary>
    public bool NeedsExactDecoder { get; }

    /// <summary>True when the bytes are in the panel layout (<see cref="PanelLayout"/>) rather than row-major.</summary>
    public bool Panels { get; }

    /// <summary>The stored bytes of row <paramref name="n"/> of expert <paramref name="e"/> (row-major layout only).</summary>
    public byte* Row(int e, int n) => Data + ((long)e * Out + n) * RowBytes;

    /// <summary>The panel holding columns 16p .. 16p+15 of expert <paramref name="e"/> (panel layout only).</summary>
    public byte* Panel(int e, int p) => Data + ((long)e * Out + (long)p * PanelLayout.Width) * RowBytes;

    /// <summary>The scales that apply to row <paramref name="n"/> of expert <paramref name="e"/>, indexed by column block.</summary>
    public byte* ScaleRow(int e, int n)
    {
        switch (Format)
        {
            case WeightFormat.Fp8F32Scale:
            case WeightFormat.Fp8E8Scale:
                {
                    long bo = (Out + 127) / 128, bi = (In + 127) / 128;
                    long index = (e * bo + n / 128) * bi;
                    return ScaleData + index * (Format == WeightFormat.Fp8F32Scale ? 4 : 1);
                }

            case WeightFormat.Fp4:
                return ScaleData + ((long)e * Out + n) * ((In + 31) / 32);
            default:
                return null;
        }
    }

    /// <summary>Writes row <paramref name="n"/> of expert <paramref name="e"/> as fp32 (exact, scalar).</summary>
    public void DequantRow(int e, int n, Span<float> destination)
    {
        if (!Panels)
        {
            Decode(Row(e, n), ScaleRow(e, n), destination);
            return;
        }

        // Gather the row's elements out of its panel, then decode them as a row.
        int es = PanelLayout.ElementSize(Format);
        byte* gathered = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)Math.Max(RowBytes, 1));
        try
        {
            byte* matrix = Data + (long)e * Out * RowBytes;
            for (int k = 0; k < In; k++)
            {
                Buffer.MemoryCopy(matrix + PanelLayout.Offset(n, k, In, es), gathered + (long)k * es, es, es);
            }

            Decode(gathered, ScaleRow(e, n), destination);
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(gathered);
        }
    }

    private void Decode(byte* row, byte* s, Span<float> destination)
    {
        int k = In;
        switch (Format)
        {
            case WeightFormat.F32:
                new ReadOnlySpan<float>(row, k).CopyTo(destination);
                break;
            case WeightFormat.BF16:
                for (int i = 0; i < k; i++) { destination[i] = NumericFormats.BF16ToF32(((ushort*)row)[i]); }
                break;
            case WeightFormat.F16:
                for (int i = 0; i < k; i++) { destination[i] = NumericFormats.F16ToF32(((ushort*)row)[i]); }
                break;
            case WeightFormat.Fp8F32Scale:
                for (int i = 0; i < k; i++) { destination[i] = NumericFormats.E4M3ToF32(row[i]) * ((float*)s)[i >> 7]; }
                break;
            case WeightFormat.Fp8E8Scale:
                for (int i = 0; i < k; i++) { destination[i] = NumericFormats.E4M3ToF32(row[i]) * DecodeTables.Ue8m0[s[i >> 7]]; }
                break;
            default:
                for (int i = 0; i < k; i++)
                {
                    destination[i] = NumericFormats.E2M1ToF32(row[i >> 1] >> ((i & 1) * 4)) * DecodeTables.Ue8m0[s[i >> 5]];
                }

                break;
        }
    }

    /// <summary>The kernel format of a weight dtype and its scale dtype.</summary>
    public static WeightFormat FormatOf(DType weight, DType? scale) => weight switch
    {
        DType.F32 => WeightFormat.F32,
        DType.BF16 => WeightFormat.BF16,
        DType.F16 => WeightFormat.F16,
        DType.F8E4M3 => scale == DType.UE8M0 ? WeightFormat.Fp8E8Scale : WeightFormat.Fp8F32Scale,
        DType.F4E2M1 => WeightFormat.Fp4,
        _ => throw new NotSupportedException($"The CPU backend cannot read weights stored as {weight.ShortName()}."),
    };
}
