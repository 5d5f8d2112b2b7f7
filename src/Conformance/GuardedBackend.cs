using Accel.Backends;
using Accel.Errors;
using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance;

/// <summary>A node wrote outside its output, changed one of its inputs, or left a guard region altered.</summary>
public sealed class GuardViolationException(string backend, string message) : BackendException(backend, message);

/// <summary>
/// Wraps a backend so that out-of-bounds writes show up. The backend contract has no buffer views
/// (an <see cref="IDeviceBuffer"/> is an opaque handle), so each allocation is made as three on
/// the wrapped backend, in this order: a guard of <c>guardElements</c> elements of the same dtype,
/// the buffer itself, and another guard. Guards are filled with a sentinel pattern; a device heap
/// or pool hands out consecutive allocations next to each other, so a kernel that writes one
/// element past (or before) its output lands in a guard. After every Execute the guards of every
/// live buffer are read back and compared, and the node's inputs must be unchanged.
/// New buffers are also filled with a poison pattern (NaN for f32 and fp8, 0xA5 bytes otherwise), so
/// an output the kernel did not write in full shows up as non-finite or wrong values.
/// On the reference backend every buffer is its own bounds-checked array: an overrun there throws
/// (IndexOutOfRangeException) before it writes, and the runner reports that as a failure too.
/// </summary>
public sealed class GuardedBackend : IBackend
{
    /// <summary>The byte pattern of the guard regions (repeated).</summary>
    public static ReadOnlySpan<byte> Sentinel => [0xDE, 0xC0, 0xAD, 0x7B, 0x5A, 0x3C, 0x96, 0xE1];

    private readonly IBackend _inner;
    private readonly int _guardElements;
    private readonly HashSet<GuardedBuffer> _live = [];

    /// <summary>Wraps <paramref name="inner"/>; it is not disposed with the wrapper.</summary>
    public GuardedBackend(IBackend inner, int guardElements = 64)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(guardElements, 1);
        _inner = inner;
        _guardElements = guardElements;
    }

    /// <inheritdoc/>
    public DeviceDescriptor Device => _inner.Device;

    /// <summary>Guard checks done so far (one per live buffer per Execute).</summary>
    public long GuardChecks { get; private set; }

    /// <inheritdoc/>
    public OpSupport Supports(OpNode node, Graph.Graph graph) => _inner.Supports(node, graph);

    /// <inheritdoc/>
    public OpTable Ops => _inner.Ops;

    /// <inheritdoc/>
    public IDeviceBuffer Allocate(TensorDesc desc)
    {
        ArgumentNullException.ThrowIfNull(desc);
        var guardDesc = new TensorDesc(desc.Name + ".guard", desc.Type, new Shape(GuardElementsFor(desc.Type)));
        var before = _inner.Allocate(guardDesc with { Name = desc.Name + ".guard_before" });
        IDeviceBuffer? main = null, after = null;
        try
        {
            main = _inner.Allocate(desc);
            after = _inner.Allocate(guardDesc with { Name = desc.Name + ".guard_after" });
            var buffer = new GuardedBuffer(this, desc, before, main, after, Pattern(before.Desc.ByteSize));
            _inner.Upload(before, buffer.Expected);
            _inner.Upload(after, buffer.Expected);
            _inner.Upload(main, Poison(desc));
            _live.Add(buffer);
            return buffer;
        }
        catch
        {
            after?.Dispose();
            main?.Dispose();
            before.Dispose();
            throw;
        }
    }

    /// <inheritdoc/>
    public void Upload(IDeviceBuffer destination, ReadOnlySpan<byte> source) => _inner.Upload(Unwrap(destination), source);

    /// <inheritdoc/>
    public void Download(IDeviceBuffer source, Span<byte> destination) => _inner.Download(Unwrap(source), destination);

    /// <inheritdoc/>
    public void Execute(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        ArgumentNullException.ThrowIfNull(node);
        var ins = inputs.Select(b => b is null ? null : Unwrap(b)).ToArray();
        var outs = outputs.Select(Unwrap).ToArray();
        var before = ins.Select(b => b is null ? null : Read(b)).ToArray();
        _inner.Execute(node, ins, outs);
        _inner.Synchronize();
        for (int i = 0; i < ins.Length; i++)
        {
            if (ins[i] is { } b && !outs.Contains(b) && !Read(b).AsSpan().SequenceEqual(before[i]))
            {
                throw new GuardViolationException(Device.Backend,
                    $"Node '{node.Name}' ({node.Kind}) changed its input '{b.Desc.Name}'; inputs are read-only.");
            }
        }

        foreach (var buffer in _live)
        {
            GuardChecks++;
            if (buffer.Violation() is { } where)
            {
                string whose = outputs.Contains(buffer) ? "its output" : "the buffer";
                throw new GuardViolationException(Device.Backend,
                    $"Node '{node.Name}' ({node.Kind}) wrote out of bounds: the guard region {where} of {whose} " +
                    $"'{buffer.Desc.Name}' ({buffer.Desc.Type.ShortName()}{buffer.Desc.Shape}) was overwritten.");
            }
        }
    }

    /// <inheritdoc/>
    public void Synchronize() => _inner.Synchronize();

    /// <summary>Frees nothing of the wrapped backend; buffers are freed by their owners.</summary>
    public void Dispose() { }

    private long GuardElementsFor(DType type) => type == DType.F4E2M1 ? 2L * _guardElements : _guardElements;

    private IDeviceBuffer Unwrap(IDeviceBuffer buffer) => buffer is GuardedBuffer g && ReferenceEquals(g.Owner, this)
        ? g.Main
        : throw new ArgumentException($"Buffer '{buffer.Desc.Name}' was not allocated through this guarded backend.");

    private byte[] Read(IDeviceBuffer b)
    {
        var bytes = new byte[b.Desc.ByteSize];
        _inner.Download(b, bytes);
        return bytes;
    }

    private static byte[] Pattern(long length)
    {
        var p = new byte[length];
        for (int i = 0; i < p.Length; i++) { p[i] = Sentinel[i % Sentinel.Length]; }
        return p;
    }

    private static byte[] Poison(TensorDesc desc)
    {
        var bytes = new byte[desc.ByteSize];
        if (desc.Type == DType.F32)
        {
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes.AsSpan()).Fill(0x7FC0A5A5);
        }
        else
        {
            bytes.AsSpan().Fill(desc.Type == DType.F8E4M3 ? (byte)0x7F : (byte)0xA5);
        }

        return bytes;
    }

    private sealed class GuardedBuffer(GuardedBackend owner, TensorDesc desc, IDeviceBuffer before, IDeviceBuffer main,
        IDeviceBuffer after, byte[] expected) : IDeviceBuffer
    {
        private bool _disposed;

        public TensorDesc Desc => desc;

        public IBackend Owner => owner;

        public IDeviceBuffer Main => main;

        public byte[] Expected => expected;

        /// <summary>Which guard changed and where (the changed byte nearest the buffer), or null.</summary>
        public string? Violation()
        {
            var head = owner.Read(before);
            int last = head.Length - 1;
            while (last >= 0 && head[last] == expected[last]) { last--; }
            if (last >= 0)
            {
                return $"{head.Length - last} byte(s) before the start";
            }

            var tail = owner.Read(after);
            int first = tail.AsSpan().CommonPrefixLength(expected);
            return first < tail.Length ? $"at byte {first} past the end" : null;
        }

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            owner._live.Remove(this);
            before.Dispose();
            main.Dispose();
            after.Dispose();
        }
    }
}
