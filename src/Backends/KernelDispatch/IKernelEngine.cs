using System.Reflection;
using Accel.Types;

namespace Accel.Backends.KernelDispatch;

/// <summary>
/// A launch shape of an explicitly grouped kernel: <c>Grid.Dim</c> and <c>Group.Dim</c> in x and y
/// (z is always 1).
/// </summary>
/// <param name="GridX">Groups in x.</param>
/// <param name="GridY">Groups in y.</param>
/// <param name="GroupX">Threads per group in x.</param>
/// <param name="GroupY">Threads per group in y.</param>
public readonly record struct LaunchShape(int GridX, int GridY, int GroupX, int GroupY)
{
    /// <summary>A 1-D launch of <paramref name="groups"/> groups of <paramref name="threads"/> threads.</summary>
    public static LaunchShape Linear(int groups, int threads) => new(groups, 1, threads, 1);
}

/// <summary>
/// One argument of a kernel launch: a typed view of a whole device buffer (the kernel's
/// <c>ArrayView&lt;T&gt;</c>) or a scalar / struct value. Buffers are opaque here: each engine maps
/// them to its own views.
/// </summary>
public readonly struct KernelOperand
{
    private KernelOperand(IDeviceBuffer? buffer, Type type, long length, object? value)
    {
        Buffer = buffer;
        Type = type;
        Length = length;
        Value = value;
    }

    /// <summary>The buffer of a view; null for a value.</summary>
    public IDeviceBuffer? Buffer { get; }

    /// <summary>The view's element type, or the value's type.</summary>
    public Type Type { get; }

    /// <summary>Elements of the view (from element 0).</summary>
    public long Length { get; }

    /// <summary>The boxed value; null for a view.</summary>
    public object? Value { get; }

    /// <summary>Whether this is a view.</summary>
    public bool IsView => Buffer is not null;

    /// <summary>A view of <paramref name="buffer"/> as elements of <paramref name="element"/> (all of it, or <paramref name="length"/>).</summary>
    public static KernelOperand View(IDeviceBuffer buffer, Type element, long length = -1)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        long size = System.Runtime.InteropServices.Marshal.SizeOf(element);
        return new(buffer, element, length < 0 ? buffer.Desc.ByteSize / size : length, null);
    }

    /// <summary>A scalar or unmanaged struct passed by value.</summary>
    public static KernelOperand Of<T>(T value) where T : unmanaged => new(null, typeof(T), 0, value);

    /// <summary>An <c>int</c>.</summary>
    public static implicit operator KernelOperand(int value) => Of(value);

    /// <summary>A <c>long</c>.</summary>
    public static implicit operator KernelOperand(long value) => Of(value);

    /// <summary>A <c>float</c>.</summary>
    public static implicit operator KernelOperand(float value) => Of(value);

    /// <inheritdoc/>
    public override string ToString() => IsView ? $"{Type.Name}[{Length}] of '{Buffer!.Desc.Name}'" : $"{Type.Name} {Value}";
}

/// <summary>What a launch engine's device allows.</summary>
/// <param name="MaxThreadsPerGroup">Most threads (work-items) in one group.</param>
/// <param name="MaxSharedMemoryPerGroup">Shared (local) memory per group, in bytes.</param>
/// <param name="MaxElementGroups">Most groups a grid-stride (elementwise) launch should use.</param>
public readonly record struct EngineLimits(int MaxThreadsPerGroup, long MaxSharedMemoryPerGroup, int MaxElementGroups);

/// <summary>
/// The thin, device-specific half of a kernel backend: loads a kernel method once (compiling it
/// for the device) and launches it with a grid, a group and arguments; allocates and moves bytes.
/// <see cref="KernelDispatcher"/> decides what to launch; an engine only executes it.
/// </summary>
public interface IKernelEngine
{
    /// <summary>The device's limits.</summary>
    EngineLimits Limits { get; }

    /// <summary>Enqueues <paramref name="kernel"/> (loading it on first use) with <paramref name="args"/>, in C# parameter order.</summary>
    /// <param name="kernel">A static, explicitly grouped kernel method with its type arguments bound.</param>
    /// <param name="shape">Grid and group.</param>
    /// <param name="args">The arguments.</param>
    /// <param name="op">The node the launch serves, for error messages.</param>
    void Launch(MethodInfo kernel, LaunchShape shape, ReadOnlySpan<KernelOperand> args, string op);

    /// <summary>Allocates a work buffer through the backend (it counts against the memory limit).</summary>
    IDeviceBuffer AllocateScratch(TensorDesc desc);

    /// <summary>Allocates the small status buffer (outside the memory budget).</summary>
    IDeviceBuffer AllocateStatus(int elements);

    /// <summary>Copies host bytes into a buffer (in order with the launches).</summary>
    void Write(IDeviceBuffer buffer, ReadOnlySpan<byte> source);

    /// <summary>Copies a buffer to the host, after all launches enqueued so far.</summary>
    void Read(IDeviceBuffer buffer, Span<byte> destination);

    /// <summary>Waits for the device.</summary>
    void Wait();
}
