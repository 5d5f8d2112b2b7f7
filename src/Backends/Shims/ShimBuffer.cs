using Accel.Types;

namespace Accel.Backends.Shims;

/// <summary>
/// A buffer of a <see cref="ShimBackend{TRuntime}"/>: the tensor as the graph sees it
/// (<see cref="Desc"/>) over vendor device memory that may hold it in another dtype
/// (<see cref="DeviceType"/>) and is padded to the profile's alignment and tile multiples.
/// </summary>
public sealed class ShimBuffer : IDeviceBuffer
{
    private readonly Action<ShimBuffer> _release;
    private bool _disposed;

    internal ShimBuffer(IBackend owner, TensorDesc desc, DeviceMemory memory, Action<ShimBuffer> release)
    {
        Owner = owner;
        Desc = desc;
        Memory = memory;
        _release = release;
    }

    /// <inheritdoc/>
    public TensorDesc Desc { get; }

    /// <inheritdoc/>
    public IBackend Owner { get; }

    /// <summary>The vendor device memory.</summary>
    public DeviceMemory Memory { get; }

    /// <summary>The dtype the device holds the tensor in (differs from <c>Desc.Type</c> when legalised).</summary>
    public DType DeviceType => Memory.Desc.Type;

    /// <summary>True when the tensor was converted to another dtype on upload.</summary>
    public bool IsConverted => DeviceType != Desc.Type;

    /// <summary>Bytes the device allocation reserves (padding and the vendor's rounding included).</summary>
    public long AllocationBytes => Memory.AllocatedBytes;

    /// <summary>The uploaded bytes in the graph's dtype, kept for converted tensors only.</summary>
    internal byte[]? Original { get; set; }

    /// <summary>True while a block-scaled weight waits for its scale to be folded in.</summary>
    internal bool Pending { get; set; }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Memory.Dispose();
        _release(this);
    }
}
