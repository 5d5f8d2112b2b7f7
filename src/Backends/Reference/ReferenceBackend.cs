using System.Runtime.InteropServices;
using Accel.Graph;
using Accel.Types;

namespace Accel.Backends.Reference;

/// <summary>The provider of the <c>reference</c> device: always present, one device.</summary>
public sealed class ReferenceProvider : IBackendProvider
{
    /// <summary>The device string of the reference backend.</summary>
    public const string DeviceId = "reference";

    /// <summary>The single device.</summary>
    public static DeviceDescriptor Descriptor { get; } = new(DeviceId, DeviceId,
        "Reference (plain C#, the oracle)", DeviceKind.Cpu, null, DeviceStatus.Present,
        "executes every op; fp32 values, fp64 accumulation, deterministic", AutoRank.Reference);

    /// <inheritdoc/>
    public string Name => DeviceId;

    /// <inheritdoc/>
    public IReadOnlyList<DeviceDescriptor> EnumerateDevices() => [Descriptor];

    /// <inheritdoc/>
    public bool Claims(string name) => name == DeviceId;

    /// <inheritdoc/>
    public IBackend Create(DeviceDescriptor device) => new ReferenceBackend(memoryLimitBytes: null);
}

/// <summary>
/// The executable specification: runs every op with <see cref="ReferenceOps"/> over host
/// buffers. Every other backend is tested against it.
/// </summary>
public sealed class ReferenceBackend : BackendBase
{
    /// <summary>Creates the backend, optionally with a memory limit (for tests of the limit).</summary>
    public ReferenceBackend(long? memoryLimitBytes = null) : base(ReferenceProvider.Descriptor, memoryLimitBytes) { }

    /// <inheritdoc/>
    public override OpTable Ops => Table;

    /// <summary>Every op of the set, each implemented in <see cref="ReferenceDispatch"/>, for every dtype its signature allows.</summary>
    internal static OpTable Table { get; } = OpTable.For(ReferenceProvider.DeviceId).With(OpSchemas.MoeSpecOps);

    /// <inheritdoc/>
    protected override IDeviceBuffer AllocateCore(TensorDesc desc) => new HostBuffer(this, desc);

    /// <inheritdoc/>
    protected override void UploadCore(IDeviceBuffer destination, ReadOnlySpan<byte> source) =>
        source.CopyTo(((HostBuffer)destination).Data);

    /// <inheritdoc/>
    protected override void DownloadCore(IDeviceBuffer source, Span<byte> destination) =>
        ((HostBuffer)source).Data.AsSpan().CopyTo(destination);

    /// <inheritdoc/>
    protected override void ExecuteCore(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs) =>
        ReferenceDispatch.Execute(node, [.. inputs.Cast<HostBuffer?>()], [.. outputs.Cast<HostBuffer>()]);

    /// <summary>A buffer in host memory.</summary>
    internal sealed class HostBuffer(ReferenceBackend owner, TensorDesc desc) : IDeviceBuffer
    {
        private bool _disposed;

        public byte[] Data { get; } = new byte[desc.ByteSize];

        public TensorDesc Desc => desc;

        public IBackend Owner => owner;

        public Span<float> F32 => MemoryMarshal.Cast<byte, float>(Data.AsSpan());

        public Span<int> I32 => MemoryMarshal.Cast<byte, int>(Data.AsSpan());

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                owner.OnBufferReleased(this);
            }
        }
    }
}
