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
        bool panels = false, bool fastScales = false, bool quads = false)
    {
        FastScales = fastScales;
        Quads = quads;
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

    /// <summary>
    /// True when the scales allow the fast decoders: fp8 block scales all at least 2^-20 (the
    /// one-multiply decoders stay exact); FP4 UE8M0 scales all normal powers of two, codes 1-254
    /// (the VNNI kernel builds them by shifting the code into an exponent).
    /// </summary>
    public bool FastScales { get; }

    /// <summary>True when the bytes are in the panel layout (<see cref="PanelLayout"/>) rather than row-major.</summary>
    public bool Panels { get; }

    /// <summary>
    /// True when the FP4 codes and scales are in the four-row interleaved layout (<see cref="QuadLayout"/>):
    /// <see cref="Row"/> and <see cref="ScaleRow"/> then give a row's first chunk, its next chunks
    /// following every <see cref="QuadLayout.Rows"/> chunks.
    /// </summary>
    public bool Quads { get; }

    /// <summary>
    /// The stored bytes of row <paramref name="n"/> of expert <paramref name="e"/> (row-major layout;
    /// in the quad layout its first chunk).
    /// </summary>
    public byte* Row(int e, int n) => Quads
        ? Data + (long)e * Out * RowBytes + QuadLayout.RowOffset(n, RowBytes, QuadLayout.CodeChunk)
        : Data + ((long)e * Out + n) * RowBytes;

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
                return Quads
                    ? ScaleData + (long)e * Out * ScaleRowBytes + QuadLayout.RowOffset(n, ScaleRowBytes, QuadLayout.ScaleChunk)
                    : ScaleData + ((long)e * Out + n) * ScaleRowBytes;
            default:
                return null;
        }
    }

    /// <summary>Bytes of one FP4 row's scales (one per 32 columns).</summary>
    public long ScaleRowBytes => (In + 31) / 32;

    /// <summary>Writes row <paramref name="n"/> of expert <paramref name="e"/> as fp32 (exact, scalar).</summary>
    public void DequantRow(int e, int n, Span<float> destination)
    {
        if (!Quads && !Panels)
        {
            Decode(Row(e, n), ScaleRow(e, n), destination);
            return;
        }

        // Gather the row out of its group of four (codes and scales) or its panel, then decode it as a row.
        int bytes = (int)(RowBytes + (Quads ? ScaleRowBytes : 0));
        byte[]? rented = bytes > 16384 ? System.Buffers.ArrayPool<byte>.Shared.Rent(bytes) : null;
        Span<byte> staged = rented ?? stackalloc byte[bytes];
        try
        {
            fixed (byte* row = staged)
            {
                byte* matrix = Data + (long)e * Out * RowBytes;
                if (Quads)
                {
                    QuadLayout.GatherRow(matrix, n, RowBytes, QuadLayout.CodeChunk, row);
                    QuadLayout.GatherRow(ScaleData + (long)e * Out * ScaleRowBytes, n, ScaleRowBytes, QuadLayout.ScaleChunk, row + RowBytes);
                    Decode(row, row + RowBytes, destination);
                    return;
                }

                int es = PanelLayout.ElementSize(Format);
                for (int k = 0; k < In; k++)
                {
                    new ReadOnlySpan<byte>(matrix + PanelLayout.Offset(n, k, In, es), es).CopyTo(staged.Slice(k * es, es));
                }

                Decode(row, ScaleRow(e, n), destination);
            }
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>One stored row decoded by the shared dequantiser (<see cref="WeightView"/>, a [1, 1, In] view).</summary>
    private void Decode(byte* row, byte* scaleRow, Span<float> destination)
    {
        var (type, scaleType) = Types(Format);
        int scaleBytes = Format switch
        {
            WeightFormat.Fp8F32Scale => (In + 127) / 128 * 4,
            WeightFormat.Fp8E8Scale => (In + 127) / 128,
            WeightFormat.Fp4 => (int)ScaleRowBytes,
            _ => 0,
        };
        new WeightView(new ReadOnlySpan<byte>(row, (int)type.ByteSize(In)), type, new ReadOnlySpan<byte>(scaleRow, scaleBytes),
            scaleType, 1, 1, In).DequantRow(0, 0, destination);
    }

    /// <summary>The weight and scale dtypes of a kernel format (the inverse of <see cref="FormatOf"/>).</summary>
    public static (DType Weight, DType Scale) Types(WeightFormat format) => format switch
    {
        WeightFormat.F32 => (DType.F32, DType.F32),
        WeightFormat.BF16 => (DType.BF16, DType.F32),
        WeightFormat.F16 => (DType.F16, DType.F32),
        WeightFormat.Fp8F32Scale => (DType.F8E4M3, DType.F32),
        WeightFormat.Fp8E8Scale => (DType.F8E4M3, DType.UE8M0),
        _ => (DType.F4E2M1, DType.UE8M0),
    };

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
