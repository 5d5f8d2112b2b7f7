using System.Runtime.InteropServices;
using Accel.Types;

namespace Accel.Peers;

/// <summary>The ggml storage formats the peer runs, each built from the Accel weights of its matched format.</summary>
internal enum GgmlFormat
{
    /// <summary>f32, from Accel's f32 weights.</summary>
    F32,
    /// <summary>bf16, a bit copy of Accel's bf16 weights.</summary>
    BF16,
    /// <summary>Q8_0 (32 int8 + one f16 scale), quantised by ggml from Accel's fp8 weights dequantised to f32.</summary>
    Q8_0,
    /// <summary>MXFP4, converted bit for bit from Accel's fp4 routed experts (shared expert fp8 there: Q8_0 here).</summary>
    MXFP4,
}

/// <summary>
/// Writes Accel's stored weights ([E, out, in] row-major, any stored format) into ggml tensors of the
/// same memory order (ggml ne = [in, out, E]), one expert at a time so no second full copy is held.
/// </summary>
internal static unsafe class GgmlWeights
{
    /// <summary>The ggml type a weight stored as <paramref name="stored"/> becomes under <paramref name="format"/>.</summary>
    public static int TypeFor(GgmlFormat format, DType stored) => (format, stored) switch
    {
        (GgmlFormat.F32, DType.F32) => GgmlType.F32,
        (GgmlFormat.BF16, DType.BF16) => GgmlType.BF16,
        (GgmlFormat.MXFP4, DType.F4E2M1) => GgmlType.MXFP4,
        (GgmlFormat.Q8_0 or GgmlFormat.MXFP4, DType.F8E4M3) => GgmlType.Q8_0,
        _ => throw new InvalidOperationException($"ggml {format} is built from Accel's matched format, but this weight is stored as {stored.ShortName()}."),
    };

    /// <summary>
    /// <paramref name="weight"/> ([E, out, in] or [out, in]) in ggml type <paramref name="type"/>, whole
    /// (a repacking buffer takes a tensor in one piece only).
    /// </summary>
    public static byte[] Convert(GgmlApi api, int type, HostTensor weight, HostTensor? scale)
    {
        var dims = weight.Shape.Rank == 3 ? weight.Shape : new Shape(1, weight.Shape[0], weight.Shape[1]);
        long experts = dims[0], rows = dims[1], cols = dims[2];
        long perExpert = rows * (long)api.RowSize(type, cols);
        var result = new byte[checked((int)(experts * perExpert))];
        var floats = type == GgmlType.Q8_0 ? new float[rows * cols] : null;
        for (long e = 0; e < experts; e++)
        {
            var dst = result.AsSpan((int)(e * perExpert), (int)perExpert);
            switch (type)
            {
                case GgmlType.F32 or GgmlType.BF16:
                    weight.ReadOnlyBytes.Slice((int)(e * perExpert), (int)perExpert).CopyTo(dst);
                    break;
                case GgmlType.MXFP4:
                    Mxfp4.Convert(weight.ReadOnlyBytes, scale!.ReadOnlyBytes, e, rows, cols, dst);
                    break;
                case GgmlType.Q8_0:
                    Dequantise(weight, scale, dims, e, floats!);
                    fixed (float* src = floats)
                    fixed (byte* q = dst)
                    {
                        api.QuantizeChunk(GgmlType.Q8_0, src, q, 0, rows, cols, null);
                    }

                    break;
                default:
                    throw new InvalidOperationException($"ggml type {type} is not one the peer writes.");
            }
        }

        return result;
    }

    /// <summary>Writes a whole tensor's bytes.</summary>
    public static void Set(GgmlApi api, IntPtr tensor, byte[] data)
    {
        if ((long)api.Nbytes(tensor) != data.Length)
        {
            throw new InvalidOperationException($"A ggml tensor of {api.Nbytes(tensor)} bytes cannot take {data.Length} bytes.");
        }

        fixed (byte* src = data)
        {
            api.TensorSet(tensor, src, 0, (nuint)data.Length);
        }
    }

    /// <summary>Writes plain f32 data into a tensor.</summary>
    public static void UploadF32(GgmlApi api, IntPtr tensor, ReadOnlySpan<float> values)
    {
        fixed (float* src = values)
        {
            api.TensorSet(tensor, src, 0, (nuint)(values.Length * 4));
        }
    }

    /// <summary>Expert <paramref name="e"/> of a weight as f32 rows, through Accel's own dequantiser.</summary>
    public static void Dequantise(HostTensor weight, HostTensor? scale, Shape dims, long e, Span<float> destination)
    {
        var view = new WeightView(weight.ReadOnlyBytes, weight.Type, scale is null ? default : scale.ReadOnlyBytes,
            scale?.Type ?? DType.F32, dims[0], dims[1], dims[2]);
        int cols = (int)dims[2];
        for (long r = 0; r < dims[1]; r++)
        {
            view.DequantRow(e, r, destination.Slice((int)(r * cols), cols));
        }
    }

    /// <summary>f32 values as bytes.</summary>
    public static ReadOnlySpan<byte> Bytes(ReadOnlySpan<float> values) => MemoryMarshal.AsBytes(values);
}
