using System.Runtime.InteropServices;
using Accel.Types;

namespace Accel.Native;

/// <summary>
/// <c>accel_tensor</c>: a caller-owned, row-major, contiguous host buffer with its dtype and shape.
/// The layout is part of the ABI: <c>void *data; int32_t dtype; int32_t ndim; int64_t shape[4];</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct NativeTensor
{
    /// <summary>The most dimensions a tensor has.</summary>
    public const int MaxRank = 4;

    /// <summary>First element.</summary>
    public void* Data;

    /// <summary>Element type, an <c>accel_dtype</c> (the numbers of <see cref="Types.DType"/>).</summary>
    public int DType;

    /// <summary>Number of dimensions, 1 to <see cref="MaxRank"/>.</summary>
    public int NDim;

    /// <summary>Extents, outermost first; entries from <see cref="NDim"/> on are ignored.</summary>
    public fixed long Shape[MaxRank];
}

/// <summary>Reads and writes <see cref="NativeTensor"/>s, checking every field against what the call expects.</summary>
public static unsafe class NativeTensors
{
    /// <summary>The dtype of <paramref name="t"/>, refused unless it is one of <paramref name="allowed"/>.</summary>
    public static DType TypeOf(NativeTensor* t, string name, params DType[] allowed)
    {
        int code = t->DType;
        if (code < 0 || code > (int)DType.UE8M0)
        {
            throw new NativeArgumentException(
                $"{name}: dtype {code} is not an accel_dtype; use one of ACCEL_DTYPE_F32 (0) .. ACCEL_DTYPE_UE8M0 ({(int)DType.UE8M0}).");
        }

        var type = (DType)code;
        if (allowed.Length > 0 && !allowed.Contains(type))
        {
            throw new NativeArgumentException(
                $"{name} must be {string.Join(", ", allowed.Select(a => a.ShortName()))} but is {type.ShortName()}.");
        }

        return type;
    }

    /// <summary>The shape of <paramref name="t"/>, refused when its rank or an extent is out of range.</summary>
    public static Shape ShapeOf(NativeTensor* t, string name)
    {
        if (t->NDim < 1 || t->NDim > NativeTensor.MaxRank)
        {
            throw new NativeArgumentException($"{name}: ndim is {t->NDim}; it must be 1 to {NativeTensor.MaxRank}.");
        }

        var dims = new long[t->NDim];
        for (int i = 0; i < dims.Length; i++)
        {
            dims[i] = t->Shape[i];
            if (dims[i] < 0)
            {
                throw new NativeArgumentException($"{name}: shape[{i}] is {dims[i]}; extents must not be negative.");
            }
        }

        return new Shape(dims);
    }

    /// <summary>The bytes of <paramref name="t"/> (checked: non-NULL data unless empty, size within 2 GiB).</summary>
    public static ReadOnlySpan<byte> BytesOf(NativeTensor* t, DType type, Shape shape, string name)
    {
        long bytes;
        try
        {
            long elements = shape.Elements; // checked
            bytes = elements <= long.MaxValue / 64 ? type.ByteSize(elements) : throw new OverflowException();
        }
        catch (OverflowException)
        {
            throw new NativeArgumentException($"{name}: shape {shape} is too large.");
        }

        if (bytes > int.MaxValue)
        {
            throw new NativeArgumentException($"{name}: {shape} of {type.ShortName()} is {bytes} bytes; one tensor may hold at most {int.MaxValue} bytes.");
        }

        if (bytes > 0 && t->Data == null)
        {
            throw new NativeArgumentException($"{name}: data is NULL but the shape {shape} holds {shape.Elements} elements.");
        }

        return bytes == 0 ? [] : new ReadOnlySpan<byte>(t->Data, (int)bytes);
    }

    /// <summary>Copies a caller's tensor into a <see cref="HostTensor"/> (so the caller keeps its buffer).</summary>
    /// <param name="t">The tensor; NULL is refused with a message naming <paramref name="name"/>.</param>
    /// <param name="name">The argument's name, for messages.</param>
    /// <param name="allowed">The dtypes this argument accepts (none: any).</param>
    public static HostTensor Read(NativeTensor* t, string name, params DType[] allowed)
    {
        if (t == null)
        {
            throw new NativeArgumentException($"{name} is NULL; pass a pointer to an accel_tensor.");
        }

        var type = TypeOf(t, name, allowed);
        var shape = ShapeOf(t, name);
        return new HostTensor(type, shape, BytesOf(t, type, shape, name).ToArray());
    }

    /// <summary>
    /// Reads a caller's f32, bf16 or f16 tensor (one of <paramref name="allowed"/>) as fp32, converting
    /// on the copy, into <paramref name="reuse"/> when it has the tensor's shape (a session's kept
    /// input, so repeated runs allocate nothing whatever the caller's dtype), else into a new tensor.
    /// </summary>
    public static HostTensor ReadF32(NativeTensor* t, HostTensor? reuse, string name, params DType[] allowed)
    {
        if (t == null)
        {
            throw new NativeArgumentException($"{name} is NULL; pass a pointer to an accel_tensor.");
        }

        var type = TypeOf(t, name, allowed);
        if (type is not (Types.DType.F32 or Types.DType.BF16 or Types.DType.F16))
        {
            throw new ArgumentException($"{name}: ReadF32 takes floating-point dtypes, not {type.ShortName()}.", nameof(allowed));
        }

        var shape = ShapeOf(t, name);
        var bytes = BytesOf(t, type, shape, name);
        var result = reuse is not null && reuse.Type == Types.DType.F32 && reuse.Shape == shape ? reuse : HostTensor.Zeros(Types.DType.F32, shape);
        if (type == Types.DType.F32)
        {
            bytes.CopyTo(result.Bytes);
        }
        else
        {
            NumericFormats.HalfBitsToF32(MemoryMarshal.Cast<byte, ushort>(bytes), result.AsSpan<float>(), type);
        }

        return result;
    }

    /// <summary>
    /// Writes <paramref name="value"/> (f32 or i32) into the caller's tensor, converting to its dtype
    /// (one of <paramref name="allowed"/>); its shape must equal the value's.
    /// </summary>
    public static void Write(NativeTensor* t, HostTensor value, string name, params DType[] allowed)
    {
        if (t == null)
        {
            throw new NativeArgumentException($"{name} is NULL; pass a pointer to an accel_tensor.");
        }

        var type = TypeOf(t, name, allowed);
        var shape = ShapeOf(t, name);
        if (shape != value.Shape)
        {
            throw new NativeArgumentException($"{name} must be {value.Shape} but is {shape}.");
        }

        var bytes = BytesOf(t, type, shape, name);
        var target = new Span<byte>(t->Data, bytes.Length);
        switch (type)
        {
            case Types.DType.F32 or Types.DType.I32 when value.Type == type:
                value.ReadOnlyBytes.CopyTo(target);
                break;
            case Types.DType.BF16 or Types.DType.F16:
                NumericFormats.F32ToHalfBits(value.AsSpan<float>(), MemoryMarshal.Cast<byte, ushort>(target), type);
                break;

            case Types.DType.I64:
                {
                    var src = value.AsSpan<int>();
                    var dst = MemoryMarshal.Cast<byte, long>(target);
                    for (int i = 0; i < src.Length; i++)
                    {
                        dst[i] = src[i];
                    }

                    break;
                }

            default:
                throw new NativeArgumentException($"{name}: cannot write {value.Type.ShortName()} values as {type.ShortName()}.");
        }
    }
}
