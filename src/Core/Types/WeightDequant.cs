using System.Runtime.InteropServices;
using Accel.Errors;

namespace Accel.Types;

/// <summary>
/// A projection weight [E, out, in] (E = 1 for a dense weight) in its stored format, with its
/// optional scale, that yields dequantised fp32 rows. FP8 e4m3 uses one scale per 128x128 block
/// (f32 or UE8M0); FP4 e2m1 uses one UE8M0 scale per 1x32 block, low nibble first.
/// </summary>
public readonly ref struct WeightView
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly ReadOnlySpan<byte> _scale;

    /// <summary>Wraps stored bytes; dims are (experts, out, in).</summary>
    public WeightView(ReadOnlySpan<byte> data, DType type, ReadOnlySpan<byte> scale, DType scaleType,
        long experts, long outDim, long inDim)
    {
        _data = data;
        _scale = scale;
        Type = type;
        ScaleType = scaleType;
        Experts = experts;
        Out = outDim;
        In = inDim;
        long need = type.ByteSize(experts * outDim * inDim);
        if (data.Length < need)
        {
            throw new InvalidInputException($"A {type.ShortName()} weight [{experts}, {outDim}, {inDim}] needs {need} bytes but has {data.Length}.");
        }
    }

    /// <summary>Storage dtype.</summary>
    public DType Type { get; }

    /// <summary>Scale dtype (ignored for unscaled types).</summary>
    public DType ScaleType { get; }

    /// <summary>Leading (expert) dimension.</summary>
    public long Experts { get; }

    /// <summary>Output features.</summary>
    public long Out { get; }

    /// <summary>Input features.</summary>
    public long In { get; }

    /// <summary>Writes row <paramref name="row"/> of expert <paramref name="expert"/> as fp32 into <paramref name="destination"/>.</summary>
    public void DequantRow(long expert, long row, Span<float> destination)
    {
        long baseIndex = (expert * Out + row) * In;
        int n = (int)In;
        switch (Type)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(_data.Slice((int)(baseIndex * 4), n * 4)).CopyTo(destination);
                break;
            case DType.BF16:
                {
                    var s = MemoryMarshal.Cast<byte, ushort>(_data.Slice((int)(baseIndex * 2), n * 2));
                    for (int i = 0; i < n; i++) { destination[i] = NumericFormats.BF16ToF32(s[i]); }
                    break;
                }
            case DType.F16:
                {
                    var s = MemoryMarshal.Cast<byte, ushort>(_data.Slice((int)(baseIndex * 2), n * 2));
                    for (int i = 0; i < n; i++) { destination[i] = NumericFormats.F16ToF32(s[i]); }
                    break;
                }
            case DType.F8E4M3:
                {
                    long blocksOut = (Out + 127) / 128, blocksIn = (In + 127) / 128;
                    long scaleRow = (expert * blocksOut + row / 128) * blocksIn;
                    var s = _data.Slice((int)baseIndex, n);
                    for (int i = 0; i < n; i++)
                    {
                        destination[i] = NumericFormats.E4M3ToF32(s[i]) * Scale(scaleRow + i / 128);
                    }

                    break;
                }
            case DType.F4E2M1:
                {
                    long blocksIn = (In + 31) / 32;
                    long scaleRow = (expert * Out + row) * blocksIn;
                    for (int i = 0; i < n; i++)
                    {
                        long e = baseIndex + i;
                        int nibble = _data[(int)(e >> 1)] >> (int)((e & 1) * 4);
                        destination[i] = NumericFormats.E2M1ToF32(nibble) * Scale(scaleRow + i / 32);
                    }

                    break;
                }
            default:
                throw new InvalidInputException($"A weight cannot be stored as {Type.ShortName()}.");
        }
    }

    private float Scale(long index) => ScaleType == DType.UE8M0
        ? NumericFormats.UE8M0ToF32(_scale[(int)index])
        : MemoryMarshal.Cast<byte, float>(_scale)[(int)index];
}
