using System.Buffers.Binary;
using Accel.Types;

namespace Accel.Core.Tests.Oracle;

/// <summary>
/// Decodes checkpoint tensors to float64 straight from their bytes, written from the format
/// definitions (moe-spec 1.6, 2.5, OP-17) without any Accel conversion routine.
/// </summary>
internal static class OracleDecode
{
    /// <summary>e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is subnormal; S.1111.111 is NaN.</summary>
    public static double E4M3(byte b)
    {
        int exponent = (b >> 3) & 0xF, mantissa = b & 0x7;
        if (exponent == 0xF && mantissa == 0x7)
        {
            return double.NaN;
        }

        double magnitude = exponent == 0
            ? mantissa / 8.0 * Math.Pow(2, -6)
            : (1 + mantissa / 8.0) * Math.Pow(2, exponent - 7);
        return (b & 0x80) != 0 ? -magnitude : magnitude;
    }

    /// <summary>e2m1: sign bit 3, exponent bits 2-1 (bias 1), mantissa bit 0; exponent 0 is subnormal (0 or 0.5).</summary>
    public static double E2M1(int nibble)
    {
        int exponent = (nibble >> 1) & 0x3, mantissa = nibble & 0x1;
        double magnitude = exponent == 0 ? mantissa * 0.5 : (1 + mantissa / 2.0) * Math.Pow(2, exponent - 1);
        return (nibble & 0x8) != 0 ? -magnitude : magnitude;
    }

    /// <summary>UE8M0: 2^(u - 127); 255 is NaN.</summary>
    public static double UE8M0(byte u) => u == 255 ? double.NaN : Math.Pow(2, u - 127);

    /// <summary>bfloat16: the upper 16 bits of a binary32.</summary>
    public static double BF16(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Every element of a plain (unscaled) tensor as float64: f32, bf16, f16, i32 or i64.</summary>
    public static double[] Values(HostTensor t)
    {
        ReadOnlySpan<byte> b = t.ReadOnlyBytes;
        var v = new double[t.Shape.Elements];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = t.Type switch
            {
                DType.F32 => BinaryPrimitives.ReadSingleLittleEndian(b[(i * 4)..]),
                DType.BF16 => BF16(BinaryPrimitives.ReadUInt16LittleEndian(b[(i * 2)..])),
                DType.F16 => (double)BinaryPrimitives.ReadHalfLittleEndian(b[(i * 2)..]),
                DType.I32 => BinaryPrimitives.ReadInt32LittleEndian(b[(i * 4)..]),
                DType.I64 => BinaryPrimitives.ReadInt64LittleEndian(b[(i * 8)..]),
                _ => throw new InvalidOperationException($"The oracle cannot read a plain {t.Type} tensor."),
            };
        }

        return v;
    }

    /// <summary>
    /// The logical [rows, cols] weight named <paramref name="weightName"/>, dequantised: f32/bf16/f16
    /// as stored; e4m3 times its 128x128 block scale (f32 or UE8M0, partial edge blocks included);
    /// packed FP4 (u8/i8 [rows, cols/2], even column in the low nibble) times its UE8M0 1x32 scale.
    /// </summary>
    public static double[,] Matrix(IReadOnlyDictionary<string, HostTensor> tensors, string weightName, int rows, int cols)
    {
        var t = tensors[weightName];
        var w = new double[rows, cols];
        ReadOnlySpan<byte> b = t.ReadOnlyBytes;
        switch (t.Type)
        {
            case DType.F32 or DType.BF16 or DType.F16:
                {
                    Require(t.Shape[0] == rows && t.Shape[1] == cols, weightName, t);
                    var v = Values(t);
                    for (int r = 0; r < rows; r++)
                    {
                        for (int c = 0; c < cols; c++) { w[r, c] = v[r * cols + c]; }
                    }

                    break;
                }

            case DType.F8E4M3:
                {
                    Require(t.Shape[0] == rows && t.Shape[1] == cols, weightName, t);
                    var scale = ScaleOf(tensors, weightName);
                    int blockCols = (cols + 127) / 128;
                    Require(scale.Length == (rows + 127) / 128 * blockCols, weightName + " scale", t);
                    for (int r = 0; r < rows; r++)
                    {
                        for (int c = 0; c < cols; c++) { w[r, c] = E4M3(b[r * cols + c]) * scale[r / 128 * blockCols + c / 128]; }
                    }

                    break;
                }

            case DType.U8 or DType.I8:
                {
                    Require(t.Shape[0] == rows && t.Shape[1] * 2 == cols, weightName, t);
                    var scale = ScaleOf(tensors, weightName);
                    int blocks = (cols + 31) / 32;
                    Require(scale.Length == rows * blocks, weightName + " scale", t);
                    for (int r = 0; r < rows; r++)
                    {
                        for (int c = 0; c < cols; c++)
                        {
                            byte packed = b[r * (cols / 2) + c / 2];
                            int nibble = c % 2 == 0 ? packed & 0xF : packed >> 4;
                            w[r, c] = E2M1(nibble) * scale[r * blocks + c / 32];
                        }
                    }

                    break;
                }

            default:
                throw new InvalidOperationException($"The oracle cannot dequantise '{weightName}' stored as {t.Type}.");
        }

        return w;
    }

    /// <summary>The scale of a quantised weight: <c>.weight_scale_inv</c> or <c>.scale</c>, f32 or UE8M0.</summary>
    private static double[] ScaleOf(IReadOnlyDictionary<string, HostTensor> tensors, string weightName)
    {
        string stem = weightName[..^".weight".Length];
        var s = tensors.TryGetValue(weightName + "_scale_inv", out var a) ? a
            : tensors.TryGetValue(stem + ".scale", out var c) ? c
            : throw new InvalidOperationException($"The oracle finds no scale for '{weightName}'.");
        return s.Type == DType.UE8M0 ? [.. s.ReadOnlyBytes.ToArray().Select(UE8M0)] : Values(s);
    }

    private static void Require(bool ok, string name, HostTensor t)
    {
        if (!ok)
        {
            throw new InvalidOperationException($"The oracle finds '{name}' with an unexpected shape {t.Shape}.");
        }
    }
}
