using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Accel.Backends.OpenCL;

/// <summary>
/// One launch argument of an <see cref="OpenClKernel"/>: a buffer view (for an
/// <c>ArrayView&lt;T&gt;</c> parameter), a scalar or an unmanaged struct. Scalars convert
/// implicitly (<c>kernel.Launch(grid, group, view, 42, 1.5f)</c>); structs and other unmanaged
/// types go through <see cref="Value{T}"/>. The managed type must equal the kernel parameter's
/// type exactly (an <c>int</c> parameter takes an <c>int</c>, not a <c>long</c>).
/// </summary>
public readonly struct KernelArg
{
    private readonly ulong inline;
    private readonly byte[]? bytes;
    private readonly OpenClBufferView view;

    private KernelArg(Type type, int size, ulong inline, byte[]? bytes, OpenClBufferView view, bool isView)
    {
        Type = type;
        Size = size;
        this.inline = inline;
        this.bytes = bytes;
        this.view = view;
        IsView = isView;
    }

    /// <summary>The managed type of the value (the view's element type for a view).</summary>
    public Type Type { get; }

    /// <summary>Whether this argument is a buffer view.</summary>
    public bool IsView { get; }

    /// <summary>The view; only meaningful when <see cref="IsView"/>.</summary>
    public OpenClBufferView View => view;

    /// <summary>The size of the value in bytes (0 for a view).</summary>
    internal int Size { get; }

    /// <summary>Wraps any unmanaged value (typically a struct of kernel parameters).</summary>
    /// <typeparam name="T">The value type; must equal the kernel parameter's type.</typeparam>
    public static KernelArg Value<T>(T value) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        if (size <= sizeof(ulong))
        {
            ulong word = 0;
            Unsafe.WriteUnaligned(ref Unsafe.As<ulong, byte>(ref word), value);
            return new KernelArg(typeof(T), size, word, null, default, false);
        }

        var data = MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();
        return new KernelArg(typeof(T), size, 0, data, default, false);
    }

    /// <summary>A buffer view argument.</summary>
    public static KernelArg FromView(OpenClBufferView view) =>
        new(view.ElementType, 0, 0, null, view, true);

    /// <summary>Converts a buffer view.</summary>
    public static implicit operator KernelArg(OpenClBufferView view) => FromView(view);

    /// <summary>Converts an <c>int</c>.</summary>
    public static implicit operator KernelArg(int value) => Value(value);

    /// <summary>Converts a <c>uint</c>.</summary>
    public static implicit operator KernelArg(uint value) => Value(value);

    /// <summary>Converts a <c>long</c>.</summary>
    public static implicit operator KernelArg(long value) => Value(value);

    /// <summary>Converts a <c>ulong</c>.</summary>
    public static implicit operator KernelArg(ulong value) => Value(value);

    /// <summary>Converts a <c>float</c>.</summary>
    public static implicit operator KernelArg(float value) => Value(value);

    /// <summary>Converts a <c>double</c> (the device needs cl_khr_fp64).</summary>
    public static implicit operator KernelArg(double value) => Value(value);

    /// <summary>Copies the value's bytes (not for views).</summary>
    internal void CopyTo(Span<byte> destination)
    {
        if (bytes is not null)
        {
            bytes.CopyTo(destination);
            return;
        }

        ulong word = inline;
        MemoryMarshal.AsBytes(new ReadOnlySpan<ulong>(in word))[..Size].CopyTo(destination);
    }

    /// <summary>A short description for error messages.</summary>
    public override string ToString() =>
        IsView ? $"view of {Type.Name}[{view.Length}] at {view.ElementOffset}" : $"{Type.Name} ({Size} bytes)";
}
