using System.Runtime.InteropServices;
using Accel.Backends;
using Accel.Backends.Reference;
using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance.Tests;

/// <summary>
/// Passes everything through to another backend, except that after every node of kind
/// <paramref name="target"/> it perturbs that node's first output (floats: v + 0.5 + 0.5|v|;
/// integers: v xor 1), and it reports the kinds in <paramref name="unsupported"/> as unsupported.
/// </summary>
internal sealed class PerturbingBackend(IBackend inner, OpKind? target, params OpKind[] unsupported) : IBackend
{
    public DeviceDescriptor Device => inner.Device;

    public OpSupport Supports(OpNode node, Graph.Graph graph) => unsupported.Contains(node.Kind)
        ? OpSupport.No($"planted: {node.Kind} is switched off")
        : inner.Supports(node, graph);

    public OpTable Ops { get; } = OpTable.For("perturbed").With(inner.Ops.Kinds.Except(unsupported));

    public IDeviceBuffer Allocate(TensorDesc desc) => inner.Allocate(desc);

    public void Upload(IDeviceBuffer destination, ReadOnlySpan<byte> source) => inner.Upload(destination, source);

    public void Download(IDeviceBuffer source, Span<byte> destination) => inner.Download(source, destination);

    public void Execute(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        inner.Execute(node, inputs, outputs);
        if (node.Kind != target)
        {
            return;
        }

        var output = outputs[0];
        var bytes = new byte[output.Desc.ByteSize];
        inner.Download(output, bytes);
        if (output.Desc.Type == DType.F32)
        {
            foreach (ref float v in MemoryMarshal.Cast<byte, float>(bytes.AsSpan())) { v += 0.5f + 0.5f * MathF.Abs(v); }
        }
        else
        {
            foreach (ref int v in MemoryMarshal.Cast<byte, int>(bytes.AsSpan())) { v ^= 1; }
        }

        inner.Upload(output, bytes);
    }

    public void Synchronize() => inner.Synchronize();

    public void Dispose() { }
}

/// <summary>What an <see cref="ArenaBackend"/> gets wrong on its target op.</summary>
internal enum ArenaDefect
{
    /// <summary>Writes one element past the end of the first output.</summary>
    Overrun,
    /// <summary>Writes one element before the start of the first output.</summary>
    Underrun,
    /// <summary>Leaves the first output as it was (never writes it).</summary>
    Unwritten,
}

/// <summary>
/// A host backend laid out like a device heap: every buffer is a slice of one byte arena, handed
/// out back to back with no padding, and freed all at once when the last buffer goes. It computes
/// with the reference backend. With <paramref name="target"/> set, nodes of that kind suffer
/// <paramref name="defect"/>: an overrun or underrun lands in whatever was allocated next to the output.
/// </summary>
internal sealed class ArenaBackend(OpKind? target = null, ArenaDefect defect = ArenaDefect.Overrun, int capacity = 64 << 20)
    : BackendBase(new DeviceDescriptor("arena", "arena", "Host arena (test)", DeviceKind.Cpu, capacity, DeviceStatus.Emulated), capacity)
{
    private readonly byte[] _arena = new byte[capacity];
    private readonly ReferenceBackend _compute = new();
    private int _top;

    public override OpTable Ops => _compute.Ops;

    protected override IDeviceBuffer AllocateCore(TensorDesc desc)
    {
        var b = new ArenaBuffer(this, desc, _top);
        _top += (int)desc.ByteSize;
        return b;
    }

    protected override void UploadCore(IDeviceBuffer destination, ReadOnlySpan<byte> source) =>
        source.CopyTo(Slice((ArenaBuffer)destination));

    protected override void DownloadCore(IDeviceBuffer source, Span<byte> destination) =>
        Slice((ArenaBuffer)source).CopyTo(destination);

    protected override void ExecuteCore(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        var ins = inputs.Select(b => b is null ? null : Stage((ArenaBuffer)b)).ToArray();
        var outs = outputs.Select(b => Stage((ArenaBuffer)b)).ToArray();
        try
        {
            _compute.Execute(node, ins, outs);
            bool defective = node.Kind == target;
            for (int i = 0; i < outs.Length; i++)
            {
                if (!(defective && i == 0 && defect == ArenaDefect.Unwritten))
                {
                    _compute.Download(outs[i], Slice((ArenaBuffer)outputs[i]));
                }
            }

            if (defective && defect != ArenaDefect.Unwritten)
            {
                var o = (ArenaBuffer)outputs[0];
                int element = Math.Max(1, o.Desc.Type.Bits() / 8);
                int at = defect == ArenaDefect.Overrun ? o.Offset + (int)o.Desc.ByteSize : o.Offset - element;
                _arena.AsSpan(at, element).Clear();
            }
        }
        finally
        {
            foreach (var b in ins.Concat(outs))
            {
                b?.Dispose();
            }
        }
    }

    protected override void Dispose(bool disposing) => _compute.Dispose();

    private Span<byte> Slice(ArenaBuffer b) => _arena.AsSpan(b.Offset, (int)b.Desc.ByteSize);

    private IDeviceBuffer Stage(ArenaBuffer b)
    {
        var staged = _compute.Allocate(b.Desc);
        _compute.Upload(staged, Slice(b));
        return staged;
    }

    private void Release(ArenaBuffer b)
    {
        OnBufferReleased(b);
        if (AllocatedBytes == 0)
        {
            _top = 0;
        }
    }

    private sealed class ArenaBuffer(ArenaBackend owner, TensorDesc desc, int offset) : IDeviceBuffer
    {
        private bool _disposed;

        public TensorDesc Desc => desc;

        public IBackend Owner => owner;

        public int Offset => offset;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                owner.Release(this);
            }
        }
    }
}
