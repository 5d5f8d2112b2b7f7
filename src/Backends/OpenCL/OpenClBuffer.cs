using System.Runtime.CompilerServices;
using Silk.NET.OpenCL;

namespace Accel.Backends.OpenCL;

/// <summary>
/// A block of device memory (a <c>cl_mem</c>) owned by one <see cref="OpenClDeviceContext"/>.
/// Data moves in and out through spans with blocking transfers on the context's in-order queue,
/// so a download after a launch sees the launch's results (OpenCL makes these calls
/// thread-safe). Kernels take typed slices of it
/// (<see cref="View{T}(long, long)"/>). Dispose it to release the device memory.
/// </summary>
public sealed unsafe class OpenClBuffer : IDisposable
{
    private readonly OpenClDeviceContext owner;
    private nint handle;

    internal OpenClBuffer(OpenClDeviceContext owner, nint handle, long sizeInBytes)
    {
        this.owner = owner;
        this.handle = handle;
        SizeInBytes = sizeInBytes;
    }

    /// <summary>The size of the buffer in bytes.</summary>
    public long SizeInBytes { get; }

    /// <summary>Whether <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed => handle == 0;

    /// <summary>The context the buffer belongs to.</summary>
    public OpenClDeviceContext Context => owner;

    /// <summary>The cl_mem handle; throws once disposed.</summary>
    internal nint Handle => handle != 0 ? handle : throw new ObjectDisposedException(nameof(OpenClBuffer));

    /// <summary>Copies <paramref name="source"/> into the buffer, starting at element <paramref name="elementOffset"/>.</summary>
    /// <typeparam name="T">The element type; offsets count in elements of this type.</typeparam>
    /// <param name="source">The host data.</param>
    /// <param name="elementOffset">Where in the buffer to start, in elements of <typeparamref name="T"/>.</param>
    public void Upload<T>(ReadOnlySpan<T> source, long elementOffset = 0) where T : unmanaged
    {
        var (offset, size) = Range<T>(elementOffset, source.Length);
        if (size == 0)
        {
            return;
        }

        fixed (T* p = source)
        {
            ClStatus.Check(owner.Api.EnqueueWriteBuffer(
                owner.Queue, Handle, true, (nuint)offset, (nuint)size, p, 0, null, null));
        }
    }

    /// <summary>Copies from the buffer, starting at element <paramref name="elementOffset"/>, into <paramref name="destination"/>.</summary>
    /// <typeparam name="T">The element type; offsets count in elements of this type.</typeparam>
    /// <param name="destination">The host memory to fill; its length is the number of elements read.</param>
    /// <param name="elementOffset">Where in the buffer to start, in elements of <typeparamref name="T"/>.</param>
    public void Download<T>(Span<T> destination, long elementOffset = 0) where T : unmanaged
    {
        var (offset, size) = Range<T>(elementOffset, destination.Length);
        if (size == 0)
        {
            return;
        }

        fixed (T* p = destination)
        {
            ClStatus.Check(owner.Api.EnqueueReadBuffer(
                owner.Queue, Handle, true, (nuint)offset, (nuint)size, p, 0, null, null));
        }
    }

    /// <summary>Downloads <paramref name="count"/> elements into a new array.</summary>
    /// <typeparam name="T">The element type.</typeparam>
    /// <param name="count">How many elements; -1 reads to the end of the buffer.</param>
    public T[] ToArray<T>(long count = -1) where T : unmanaged
    {
        long n = count < 0 ? SizeInBytes / Unsafe.SizeOf<T>() : count;
        var result = new T[n];
        Download<T>(result);
        return result;
    }

    /// <summary>Sets every byte of the buffer to zero.</summary>
    public void Clear()
    {
        if (SizeInBytes == 0)
        {
            return;
        }

        byte pattern = 0;
        ClStatus.Check(owner.Api.EnqueueFillBuffer(
            owner.Queue, Handle, &pattern, 1, 0, (nuint)SizeInBytes, 0, null, null));
        ClStatus.Check(owner.Api.Finish(owner.Queue));
    }

    /// <summary>
    /// A typed slice for a kernel argument: the kernel sees an <c>ArrayView&lt;T&gt;</c> of
    /// <paramref name="length"/> elements starting at <paramref name="elementOffset"/>.
    /// </summary>
    /// <typeparam name="T">The element type; must match the kernel parameter's element type.</typeparam>
    /// <param name="elementOffset">First element of the slice (at most <see cref="int.MaxValue"/>, as ILGPU passes it as int).</param>
    /// <param name="length">Number of elements; -1 takes the rest of the buffer.</param>
    public OpenClBufferView View<T>(long elementOffset = 0, long length = -1) where T : unmanaged
    {
        long capacity = SizeInBytes / Unsafe.SizeOf<T>();
        long n = length < 0 ? capacity - elementOffset : length;
        Range<T>(elementOffset, n);
        return new OpenClBufferView(this, typeof(T), elementOffset, n);
    }

    /// <summary>Releases the device memory. Safe to call twice.</summary>
    public void Dispose()
    {
        var h = Interlocked.Exchange(ref handle, 0);
        if (h != 0)
        {
            owner.Release(this, h);
        }
    }

    private (long Offset, long Size) Range<T>(long elementOffset, long count) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementOffset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long elementSize = Unsafe.SizeOf<T>();
        long offset = elementOffset * elementSize;
        long size = count * elementSize;
        if (offset + size > SizeInBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(count),
                $"Elements {elementOffset}..{elementOffset + count} of {typeof(T).Name} " +
                $"({offset + size} bytes) do not fit in a buffer of {SizeInBytes} bytes.");
        }

        return (offset, size);
    }
}

/// <summary>
/// A typed slice of an <see cref="OpenClBuffer"/> passed to a kernel's <c>ArrayView&lt;T&gt;</c>
/// parameter: the buffer plus an element offset and a length, as ILGPU's views are.
/// </summary>
/// <param name="Buffer">The buffer.</param>
/// <param name="ElementType">The element type <c>T</c>.</param>
/// <param name="ElementOffset">First element.</param>
/// <param name="Length">Number of elements.</param>
public readonly record struct OpenClBufferView(OpenClBuffer Buffer, Type ElementType, long ElementOffset, long Length);
