using System.Runtime.InteropServices;
using Accel.Errors;

namespace Accel.Types;

/// <summary>
/// A tensor in host memory: dtype, shape and the raw little-endian bytes. Owned memory; cheap to
/// slice as spans. Conversions to fp32 are explicit (<see cref="ToF32"/>).
/// </summary>
public sealed class HostTensor
{
    private readonly byte[] _data;

    /// <summary>Wraps <paramref name="data"/> (not copied); its length must match dtype and shape.</summary>
    public HostTensor(DType type, Shape shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        long expected = type.ByteSize(shape.Elements);
        if (data.LongLength != expected)
        {
            throw new InvalidInputException(
                $"A {type.ShortName()} tensor of shape {shape} needs {expected} bytes but {data.LongLength} were given.");
        }

        Type = type;
        Shape = shape;
        _data = data;
    }

    /// <summary>The element type.</summary>
    public DType Type { get; }

    /// <summary>The shape.</summary>
    public Shape Shape { get; }

    /// <summary>The raw bytes.</summary>
    public Span<byte> Bytes => _data;

    /// <summary>The raw bytes, read-only.</summary>
    public ReadOnlySpan<byte> ReadOnlyBytes => _data;

    /// <summary>Allocates a zero-filled tensor.</summary>
    public static HostTensor Zeros(DType type, Shape shape) => new(type, shape, new byte[type.ByteSize(shape.Elements)]);

    /// <summary>Creates an fp32 tensor that owns a copy of <paramref name="values"/>.</summary>
    public static HostTensor FromF32(Shape shape, ReadOnlySpan<float> values) =>
        new(DType.F32, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>Creates an int32 tensor that owns a copy of <paramref name="values"/>.</summary>
    public static HostTensor FromI32(Shape shape, ReadOnlySpan<int> values) =>
        new(DType.I32, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>Views the data as elements of <typeparamref name="T"/>; the size of T must match the dtype.</summary>
    public Span<T> AsSpan<T>() where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        if (Type.Bits() != size * 8)
        {
            throw new InvalidInputException(
                $"A {Type.ShortName()} tensor cannot be viewed as {typeof(T).Name}; convert it first.");
        }

        return MemoryMarshal.Cast<byte, T>(_data.AsSpan());
    }

    /// <summary>
    /// Converts floating-point or integer data to a new fp32 array. Quantised formats
    /// (fp8, fp4, ue8m0) are decoded without scales.
    /// </summary>
    public float[] ToF32()
    {
        long n = Shape.Elements;
        var result = new float[n];
        ReadOnlySpan<byte> b = _data;
        switch (Type)
        {
            case DType.F32: MemoryMarshal.Cast<byte, float>(b).CopyTo(result); break;
            case DType.BF16 or DType.F16: NumericFormats.HalfBitsToF32(MemoryMarshal.Cast<byte, ushort>(b), result, Type); break;
            case DType.F8E4M3:
                for (int i = 0; i < n; i++) { result[i] = NumericFormats.E4M3ToF32(b[i]); }
                break;
            case DType.F4E2M1:
                for (int i = 0; i < n; i++) { result[i] = NumericFormats.E2M1ToF32(b[i >> 1] >> ((i & 1) * 4)); }
                break;
            case DType.UE8M0:
                for (int i = 0; i < n; i++) { result[i] = NumericFormats.UE8M0ToF32(b[i]); }
                break;
            case DType.I8: for (int i = 0; i < n; i++) { result[i] = (sbyte)b[i]; } break;
            case DType.U8: for (int i = 0; i < n; i++) { result[i] = b[i]; } break;
            case DType.I32:
                {
                    var s = MemoryMarshal.Cast<byte, int>(b);
                    for (int i = 0; i < n; i++) { result[i] = s[i]; }
                    break;
                }
            case DType.I64:
                {
                    var s = MemoryMarshal.Cast<byte, long>(b);
                    for (int i = 0; i < n; i++) { result[i] = s[i]; }
                    break;
                }
        }

        return result;
    }

    /// <summary>Converts an integer tensor (i32 or i64, or any 8-bit type) to int32, checking the range.</summary>
    public int[] ToI32()
    {
        long n = Shape.Elements;
        var result = new int[n];
        switch (Type)
        {
            case DType.I32: AsSpan<int>().CopyTo(result); break;
            case DType.I64:
                {
                    var s = AsSpan<long>();
                    for (int i = 0; i < n; i++)
                    {
                        if (s[i] is < int.MinValue or > int.MaxValue)
                        {
                            throw new InvalidInputException($"Index value {s[i]} at position {i} does not fit in 32 bits.");
                        }

                        result[i] = (int)s[i];
                    }

                    break;
                }
            case DType.I8: for (int i = 0; i < n; i++) { result[i] = (sbyte)_data[i]; } break;
            case DType.U8: for (int i = 0; i < n; i++) { result[i] = _data[i]; } break;
            default:
                throw new InvalidInputException($"A {Type.ShortName()} tensor is not an integer tensor; expected i32 or i64.");
        }

        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Type.ShortName()}{Shape}";
}
