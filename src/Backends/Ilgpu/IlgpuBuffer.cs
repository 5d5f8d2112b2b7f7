using Accel.Types;
using ILGPU;
using ILGPU.Runtime;

namespace Accel.Backends.Ilgpu;

/// <summary>
/// A device buffer of an <see cref="IlgpuBackend"/>: raw bytes in accelerator memory, viewed with the
/// element type a kernel needs. Zero-length tensors get a small allocation and an empty view.
/// </summary>
internal sealed class IlgpuBuffer : IDeviceBuffer
{
    private readonly IlgpuBackend _owner;
    private readonly bool _counted;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _memory;

    public IlgpuBuffer(IlgpuBackend owner, TensorDesc desc, MemoryBuffer1D<byte, Stride1D.Dense> memory, bool counted = true)
    {
        _owner = owner;
        _counted = counted;
        _memory = memory;
        Desc = desc;
    }

    /// <inheritdoc/>
    public TensorDesc Desc { get; }

    /// <inheritdoc/>
    public IBackend Owner => _owner;

    /// <summary>The tensor's bytes.</summary>
    public ArrayView<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(_memory is null, this);
            return _memory.View.SubView(0, Desc.ByteSize);
        }
    }

    /// <summary>The bytes as elements of <typeparamref name="T"/>.</summary>
    public ArrayView<T> As<T>() where T : unmanaged => Bytes.Cast<T>();

    /// <summary>fp32 elements.</summary>
    public ArrayView<float> F32 => As<float>();

    /// <summary>int32 elements.</summary>
    public ArrayView<int> I32 => As<int>();

    /// <summary>Dimension <paramref name="axis"/> of the shape as an int.</summary>
    public int Dim(int axis) => checked((int)Desc.Shape[axis]);

    /// <inheritdoc/>
    public void Dispose()
    {
        var memory = Interlocked.Exchange(ref _memory, null);
        if (memory is not null)
        {
            memory.Dispose();
            if (_counted)
            {
                _owner.Release(this);
            }
        }
    }
}
