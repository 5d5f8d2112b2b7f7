using System.Runtime.InteropServices;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// Native memory, 64-byte aligned, kept between calls and grown (at least doubling) when a call
/// asks for more. A mutable struct: keep it in a field and call it there, never through a copy.
/// </summary>
internal unsafe struct NativeScratch
{
    private byte* _data;
    private long _bytes;

    /// <summary>At least <paramref name="bytes"/> bytes; earlier contents are not kept when it grows.</summary>
    public byte* Ensure(long bytes)
    {
        if (bytes > _bytes)
        {
            NativeMemory.AlignedFree(_data);
            _bytes = Math.Max(bytes, _bytes * 2);
            _data = (byte*)NativeMemory.AlignedAlloc((nuint)_bytes, 64);
        }

        return _data;
    }

    /// <summary>Releases the memory.</summary>
    public void Free()
    {
        NativeMemory.AlignedFree(_data);
        _data = null;
        _bytes = 0;
    }
}
