using Accel.Graph;
using Accel.Types;

namespace Accel.Backends.Shims.Hygon;

/// <summary>A HIP launch dimension (<c>dim3</c>).</summary>
/// <param name="X">Extent along x.</param>
/// <param name="Y">Extent along y.</param>
/// <param name="Z">Extent along z.</param>
public readonly record struct HipDim3(int X, int Y = 1, int Z = 1)
{
    /// <summary>Total threads or blocks.</summary>
    public long Count => (long)X * Y * Z;
}

/// <summary>A HIP stream (<c>hipStreamCreate</c>); work on it runs in order.</summary>
/// <param name="Id">Stream number.</param>
public sealed record HipStream(int Id);

/// <summary>A kernel launch: the op node and its device memory.</summary>
/// <param name="Node">The op node.</param>
/// <param name="Inputs">Input memory (null for absent optional inputs).</param>
/// <param name="Outputs">Output memory.</param>
public sealed record HipKernel(OpNode Node, IReadOnlyList<DeviceMemory?> Inputs, IReadOnlyList<DeviceMemory> Outputs);

/// <summary>
/// The HIP (DTK) calls the Hygon shim uses (hipStreamCreate, hipMalloc, hipMemcpy,
/// hipLaunchKernelGGL with grid and block, hipStreamSynchronize). <see cref="HipRuntime"/> emulates
/// it on an Accel execution target; a native binding would P/Invoke DTK's libamdhip64.
/// </summary>
public interface IHygonRuntime : IShimRuntime
{
    /// <summary>Threads per wavefront (<c>warpSize</c>).</summary>
    int WarpSize { get; }

    /// <summary>Compute units (<c>multiProcessorCount</c>).</summary>
    int MultiProcessorCount { get; }

    /// <summary>Most threads per block.</summary>
    int MaxThreadsPerBlock { get; }

    /// <summary>The stream the shim's own work uses.</summary>
    HipStream DefaultStream { get; }

    /// <summary>Creates a stream (<c>hipStreamCreate</c>).</summary>
    HipStream StreamCreate();

    /// <summary>Allocates device memory for <paramref name="desc"/> (<c>hipMalloc</c>).</summary>
    DeviceMemory HipMalloc(long size, TensorDesc desc);

    /// <summary><c>hipMemcpy</c> host to device.</summary>
    void HipMemcpy(DeviceMemory destination, ReadOnlySpan<byte> source, MemcpyKind kind);

    /// <summary><c>hipMemcpy</c> device to host.</summary>
    void HipMemcpy(Span<byte> destination, DeviceMemory source, MemcpyKind kind);

    /// <summary><c>hipMemcpy</c> device to device.</summary>
    void HipMemcpy(DeviceMemory destination, DeviceMemory source, MemcpyKind kind);

    /// <summary>Launches <paramref name="kernel"/> with <paramref name="grid"/> blocks of <paramref name="block"/> threads.</summary>
    void LaunchKernel(HipKernel kernel, HipDim3 grid, HipDim3 block, int sharedMemBytes, HipStream stream);

    /// <summary>Waits for <paramref name="stream"/> (<c>hipStreamSynchronize</c>).</summary>
    void StreamSynchronize(HipStream stream);
}
