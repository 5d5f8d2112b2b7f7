using ILGPU;

namespace Accel.Kernels;

/// <summary>
/// Bit-exact decoders of the storage formats, written with integer arithmetic and
/// <see cref="Interop.IntAsFloat(uint)"/> so that they run inside kernels on every target (no
/// tables captured from the host). Each returns exactly what <c>Accel.Types.NumericFormats</c> does.
/// </summary>
public static class Decode
{
    /// <summary>A quiet NaN.</summary>
    private const uint QuietNaN = 0x7FC00000u;

    /// <summary>bfloat16 bits to fp32.</summary>
    public static float BF16(ushort bits) => Interop.IntAsFloat((uint)bits << 16);

    /// <summary>IEEE binary16 bits to fp32 (subnormals, infinities and NaN payloads kept).</summary>
    public static float F16(ushort bits)
    {
        uint sign = (uint)(bits >> 15) << 31;
        int exponent = (bits >> 10) & 0x1F;
        int mantissa = bits & 0x3FF;
        if (exponent == 0)
        {
            // m * 2^-24 is exact in fp32 (int, not uint: an unsigned conversion would go through double).
            float v = mantissa * (1f / 16777216f);
            return sign != 0 ? -v : v;
        }

        if (exponent == 0x1F)
        {
            return Interop.IntAsFloat(sign | 0x7F800000u | ((uint)mantissa << 13));
        }

        return Interop.IntAsFloat(sign | ((uint)(exponent + 112) << 23) | ((uint)mantissa << 13));
    }

    /// <summary>FP8 e4m3fn byte to fp32: bias 7, subnormal m/8 * 2^-6, S.1111.111 is NaN, no infinities.</summary>
    public static float E4M3(int bits)
    {
        int exponent = (bits >> 3) & 0xF;
        int mantissa = bits & 0x7;
        if (exponent == 0xF && mantissa == 0x7)
        {
            return Interop.IntAsFloat(QuietNaN);
        }

        float v = exponent == 0
            ? mantissa * (1f / 512f)
            : Interop.IntAsFloat(((uint)(exponent + 120) << 23) | ((uint)mantissa << 20));
        return (bits & 0x80) != 0 ? -v : v;
    }

    /// <summary>FP4 e2m1 nibble (low 4 bits) to fp32: {0, 0.5, 1, 1.5, 2, 3, 4, 6}, bit 3 the sign.</summary>
    public static float E2M1(int nibble)
    {
        int exponent = (nibble >> 1) & 0x3;
        int mantissa = nibble & 0x1;
        float v = exponent == 0 ? mantissa * 0.5f : (1f + mantissa * 0.5f) * (1 << (exponent - 1));
        return (nibble & 0x8) != 0 ? -v : v;
    }

    /// <summary>UE8M0 scale byte to fp32: 2^(u-127); u = 0 is the subnormal 2^-127; 255 is NaN.</summary>
    public static float UE8M0(int u)
    {
        if (u == 255)
        {
            return Interop.IntAsFloat(QuietNaN);
        }

        return u == 0 ? Interop.IntAsFloat(0x00400000u) : Interop.IntAsFloat((uint)u << 23);
    }
}

/// <summary>Dimensions of a weight [E, Out, In] (E = 1 for a dense or vector weight).</summary>
public struct WeightDims
{
    /// <summary>Output features (rows per expert).</summary>
    public int Out;

    /// <summary>Input features (columns).</summary>
    public int In;

    /// <summary>Creates the dims.</summary>
    public WeightDims(int outFeatures, int inFeatures)
    {
        Out = outFeatures;
        In = inFeatures;
    }
}

/// <summary>
/// A stored weight format that yields one fp32 element. Implemented by empty structs so a kernel
/// generic over the format is specialised at load time; the element type of the data view differs
/// per format (float, ushort or byte), the scale is raw bytes.
/// </summary>
/// <typeparam name="TElem">The element type of the stored data.</typeparam>
public interface IWeightFormat<TElem> where TElem : unmanaged
{
    /// <summary>Element (expert, row, col) of the weight, dequantised.</summary>
    float Load(ArrayView<TElem> data, ArrayView<byte> scale, WeightDims dims, int expert, int row, int col);
}

/// <summary>fp32 weights.</summary>
public readonly struct F32Weights : IWeightFormat<float>
{
    /// <inheritdoc/>
    public float Load(ArrayView<float> data, ArrayView<byte> scale, WeightDims dims, int expert, int row, int col) =>
        data[((long)expert * dims.Out + row) * dims.In + col];
}

/// <summary>bfloat16 weights.</summary>
public readonly struct BF16Weights : IWeightFormat<ushort>
{
    /// <inheritdoc/>
    public float Load(ArrayView<ushort> data, ArrayView<byte> scale, WeightDims dims, int expert, int row, int col) =>
        Decode.BF16(data[((long)expert * dims.Out + row) * dims.In + col]);
}

/// <summary>IEEE binary16 weights.</summary>
public readonly struct F16Weights : IWeightFormat<ushort>
{
    /// <inheritdoc/>
    public float Load(ArrayView<ushort> data, ArrayView<byte> scale, WeightDims dims, int expert, int row, int col) =>
        Decode.F16(data[((long)expert * dims.Out + row) * dims.In + col]);
}

/// <summary>FP8 e4m3 weights with one fp32 scale per 128x128 block [E, ceil(Out/128), ceil(In/128)].</summary>
public readonly struct Fp8F32ScaleWeights : IWeightFormat<byte>
{
    /// <inheritdoc/>
    public float Load(ArrayView<byte> data, ArrayView<byte> scale, WeightDims dims, int expert, int row, int col)
    {
        long blocksOut = (dims.Out + 127) >> 7, blocksIn = (dims.In + 127) >> 7;
        long s = (expert * blocksOut + (row >> 7)) * blocksIn + (col >> 7);
        return Decode.E4M3(data[((long)expert * dims.Out + row) * dims.In + col]) * scale.Cast<float>()[s];
    }
}

/// <summary>FP8 e4m3 weights with one UE8M0 scale byte per 128x128 block.</summary>
public readonly struct Fp8Ue8m0ScaleWeights : IWeightFormat<byte>
{
    /// <inheritdoc/>
    public float Load(ArrayView<byte> data, ArrayView<byte> scale, WeightDims dims, int expert, int row, int col)
    {
        long blocksOut = (dims.Out + 127) >> 7, blocksIn = (dims.In + 127) >> 7;
        long s = (expert * blocksOut + (row >> 7)) * blocksIn + (col >> 7);
        return Decode.E4M3(data[((long)expert * dims.Out + row) * dims.In + col]) * Decode.UE8M0(scale[s]);
    }
}

/// <summary>FP4 e2m1 weights, two per byte (even column in the low nibble), one UE8M0 scale per 1x32 block.</summary>
public readonly struct Fp4Weights : IWeightFormat<byte>
{
    /// <inheritdoc/>
    public float Load(ArrayView<byte> data, ArrayView<byte> scale, WeightDims dims, int expert, int row, int col)
    {
        long rowIndex = (long)expert * dims.Out + row;
        long element = rowIndex * dims.In + col;
        int packed = data[element >> 1];
        int nibble = (packed >> (int)((element & 1) * 4)) & 0xF;
        long blocksIn = (dims.In + 31) >> 5;
        return Decode.E2M1(nibble) * Decode.UE8M0(scale[rowIndex * blocksIn + (col >> 5)]);
    }
}
