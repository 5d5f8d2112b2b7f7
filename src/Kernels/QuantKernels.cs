using ILGPU;

namespace Accel.Kernels;

/// <summary>OP-17: weight dequantisation (FP8 block-scaled, FP4) and FP8 activation quantisation.</summary>
public static class QuantKernels
{
    /// <summary>
    /// OP-17a/b: W[e, o, i] as fp32 through its format, grid-stride over the E * Out * In elements
    /// (64-bit indices: whole expert stacks can exceed 2^31 elements).
    /// </summary>
    public static void Dequantize<TFormat, TElem>(ArrayView<TElem> weight, ArrayView<byte> scale,
        ArrayView<float> result, WeightDims dims, long count)
        where TFormat : struct, IWeightFormat<TElem>
        where TElem : unmanaged
    {
        long stride = (long)Grid.DimX * Group.DimX;
        long perExpert = (long)dims.Out * dims.In;
        for (long i = (long)Grid.IdxX * Group.DimX + Group.IdxX; i < count; i += stride)
        {
            int e = (int)(i / perExpert);
            long rest = i - e * perExpert;
            int o = (int)(rest / dims.In);
            int c = (int)(rest - (long)o * dims.In);
            result[i] = default(TFormat).Load(weight, scale, dims, e, o, c);
        }
    }

    /// <summary>
    /// OP-17c: block b = the group index covers row b / (C/128), columns 128 * (b mod C/128) onward:
    /// s = max(max |x|, 1e-4) / 448 (rounded up to a power of two when <paramref name="powerOfTwo"/> is
    /// 1), xq = e4m3(clamp(x / s, -448, 448)) rounded to nearest even. The block maximum is reduced
    /// through shared memory.
    /// </summary>
    public static void ActQuantFp8<TGroup>(ArrayView<float> x, ArrayView<byte> quantized, ArrayView<float> scales,
        int columns, int powerOfTwo)
        where TGroup : struct, IRowGroup
    {
        int size = default(TGroup).Size;
        var shared = SharedMemory.Allocate<float>(default(TGroup).Size);
        int tid = Group.IdxX;
        int blocks = columns / 128;
        int block = Grid.IdxX;
        int r = block / blocks;
        long start = (long)r * columns + (block - r * blocks) * 128;
        float localMax = 1e-4f;
        for (int i = tid; i < 128; i += size)
        {
            float v = Math.Abs(x[start + i]);
            localMax = v > localMax ? v : localMax;
        }

        float amax = GroupReduce.Max(shared, localMax, size);
        float s = amax / 448f;
        if (powerOfTwo != 0)
        {
            s = CeilPowerOfTwo(s);
        }

        if (tid == 0)
        {
            scales[block] = s;
        }

        for (int i = tid; i < 128; i += size)
        {
            float q = x[start + i] / s;
            q = q < -448f ? -448f : q > 448f ? 448f : q;
            quantized[start + i] = (byte)EncodeE4M3(q);
        }
    }

    /// <summary>The smallest power of two &gt;= a positive finite <paramref name="s"/> (2^ceil(log2 s)), exactly.</summary>
    public static float CeilPowerOfTwo(float s)
    {
        uint bits = Interop.FloatAsInt(s);
        uint exponent = (bits >> 23) & 0xFF;
        uint mantissa = bits & 0x7FFFFF;
        if (exponent == 0)
        {
            // Subnormal: the next power of two above the mantissa.
            uint p = 1;
            while (p < mantissa)
            {
                p <<= 1;
            }

            return p >= 0x800000 ? Interop.IntAsFloat(1u << 23) : Interop.IntAsFloat(p);
        }

        return mantissa == 0 ? s : Interop.IntAsFloat((exponent + 1) << 23);
    }

    /// <summary>
    /// fp32 in [-448, 448] to the nearest e4m3fn code, ties to the even code (as the reference's search);
    /// NaN gives 0x7F; the sign of zero is kept.
    /// </summary>
    public static int EncodeE4M3(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        int sign = (int)((bits >> 24) & 0x80);
        uint absBits = bits & 0x7FFFFFFF;
        if (absBits > 0x7F800000)
        {
            return 0x7F;
        }

        float a = Interop.IntAsFloat(absBits);
        int exponent = (int)(absBits >> 23) - 127;
        int code;
        if (exponent < -6)
        {
            // Subnormal range: steps of 2^-9; 8 steps round up into the first normal code 0x08.
            code = RoundHalfEven(a * 512f);
        }
        else
        {
            // q in [8, 16): 3 mantissa bits after the leading one; 16 carries into the next exponent.
            int q = RoundHalfEven(a * Interop.IntAsFloat((uint)(127 + 3 - exponent) << 23));
            code = ((exponent + 7) << 3) + (q - 8);
        }

        return sign | (code > 0x7E ? 0x7E : code);
    }

    /// <summary>Rounds a non-negative value to the nearest integer, ties to even.</summary>
    private static int RoundHalfEven(float v)
    {
        int whole = (int)v;
        float frac = v - whole;
        if (frac > 0.5f || (frac == 0.5f && (whole & 1) != 0))
        {
            whole++;
        }

        return whole;
    }
}
