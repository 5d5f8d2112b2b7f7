using Accel.Graph;
using Accel.Types;

namespace Accel.Backends.Shims.Ascend;

/// <summary>An ACL device (<c>aclrtSetDevice</c>).</summary>
/// <param name="Id">Device index.</param>
public sealed record AclDevice(int Id);

/// <summary>An ACL context on a device (<c>aclrtCreateContext</c>).</summary>
/// <param name="Device">The device.</param>
/// <param name="Id">Context number.</param>
public sealed record AclContext(AclDevice Device, int Id);

/// <summary>An ACL stream in a context (<c>aclrtCreateStream</c>); work on it runs in order.</summary>
/// <param name="Context">The context.</param>
/// <param name="Id">Stream number.</param>
public sealed record AclStream(AclContext Context, int Id);

/// <summary>A kernel launch: the op node and its device memory (the arguments of an Ascend C kernel).</summary>
/// <param name="Node">The op node whose kernels run.</param>
/// <param name="Inputs">Input memory (null for absent optional inputs).</param>
/// <param name="Outputs">Output memory.</param>
public sealed record AclKernel(OpNode Node, IReadOnlyList<DeviceMemory?> Inputs, IReadOnlyList<DeviceMemory> Outputs);

/// <summary>
/// The AscendCL runtime calls the Ascend shim uses (aclrtSetDevice, aclrtCreateContext,
/// aclrtCreateStream, aclrtMalloc, aclrtMemcpy, a kernel launch over <c>blockDim</c> AI cores,
/// aclrtSynchronizeStream). <see cref="AclRuntime"/> emulates it on an Accel execution target; a
/// native binding would P/Invoke libascendcl behind the same interface.
/// </summary>
public interface IAscendRuntime : IShimRuntime
{
    /// <summary>AI cores a kernel can be launched over (the upper bound of <c>blockDim</c>).</summary>
    int AiCoreCount { get; }

    /// <summary>The current device (set at open).</summary>
    AclDevice CurrentDevice { get; }

    /// <summary>The context and stream the shim's own work uses.</summary>
    AclStream DefaultStream { get; }

    /// <summary>Creates a context on <paramref name="device"/> (<c>aclrtCreateContext</c>).</summary>
    AclContext CreateContext(AclDevice device);

    /// <summary>Creates a stream in <paramref name="context"/> (<c>aclrtCreateStream</c>).</summary>
    AclStream CreateStream(AclContext context);

    /// <summary>
    /// Allocates device memory for <paramref name="desc"/> (<c>aclrtMalloc</c>): <paramref name="size"/>
    /// is rounded up to 32 B plus 32 B, the base is aligned to the profile's alignment.
    /// </summary>
    DeviceMemory Malloc(long size, TensorDesc desc);

    /// <summary><c>aclrtMemcpy</c> host to device; <paramref name="kind"/> must be <see cref="MemcpyKind.HostToDevice"/>.</summary>
    void Memcpy(DeviceMemory destination, ReadOnlySpan<byte> source, MemcpyKind kind);

    /// <summary><c>aclrtMemcpy</c> device to host; <paramref name="kind"/> must be <see cref="MemcpyKind.DeviceToHost"/>.</summary>
    void Memcpy(Span<byte> destination, DeviceMemory source, MemcpyKind kind);

    /// <summary><c>aclrtMemcpy</c> device to device; <paramref name="kind"/> must be <see cref="MemcpyKind.DeviceToDevice"/>.</summary>
    void Memcpy(DeviceMemory destination, DeviceMemory source, MemcpyKind kind);

    /// <summary>Launches <paramref name="kernel"/> over <paramref name="blockDim"/> AI cores on <paramref name="stream"/>.</summary>
    void LaunchKernel(AclKernel kernel, int blockDim, AclStream stream);

    /// <summary>Waits for the work on <paramref name="stream"/> (<c>aclrtSynchronizeStream</c>).</summary>
    void SynchronizeStream(AclStream stream);
}
