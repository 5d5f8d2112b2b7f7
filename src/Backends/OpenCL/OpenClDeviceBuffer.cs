using Accel.Types;

namespace Accel.Backends.OpenCL;

/// <summary>A tensor of an <see cref="OpenClBackend"/>: one <see cref="OpenClBuffer"/> in device memory.</summary>
internal sealed class OpenClDeviceBuffer(OpenClBackend owner, TensorDesc desc, OpenClBuffer memory, bool counted) : IDeviceBuffer
{
    private OpenClBuffer? _memory = memory;

    /// <inheritdoc/>
    public TensorDesc Desc { get; } = desc;

    /// <inheritdoc/>
    public IBackend Owner => owner;

    /// <summary>The device memory.</summary>
    public OpenClBuffer Memory => _memory ?? throw new ObjectDisposedException(Desc.Name);

    /// <inheritdoc/>
    public void Dispose()
    {
        var m = Interlocked.Exchange(ref _memory, null);
        if (m is not null)
        {
            m.Dispose();
            if (counted)
            {
                owner.Release(this);
            }
        }
    }
}
