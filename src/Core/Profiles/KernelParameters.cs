namespace Accel.Profiles;

/// <summary>Kernel parameters a profile chooses for its device shape (not hardware facts).</summary>
/// <param name="GemmTile">The GEMM tile.</param>
/// <param name="RowReductionGroupSize">Threads per group for row reductions (a power of two).</param>
/// <param name="CpuEmulation">Geometry of ILGPU's CPU accelerator when emulating this device.</param>
/// <param name="Note">Optional rationale for the choices.</param>
public sealed record KernelParameters(
    GemmTile GemmTile,
    int RowReductionGroupSize,
    CpuEmulationGeometry CpuEmulation,
    string? Note);

/// <summary>A GEMM tile: rows of the output (M), columns (N) and the reduction step (K).</summary>
/// <param name="M">Output rows per tile.</param>
/// <param name="N">Output columns per tile.</param>
/// <param name="K">Reduction depth per step.</param>
public sealed record GemmTile(int M, int N, int K);

/// <summary>
/// Geometry of ILGPU's CPU accelerator, i.e. <c>new CPUDevice(threadsPerWarp,
/// warpsPerMultiprocessor, multiprocessors)</c>. Small numbers keep the emulation fast.
/// </summary>
/// <param name="ThreadsPerWarp">Threads per warp; a power of two, at least 2.</param>
/// <param name="WarpsPerMultiprocessor">Warps per multiprocessor.</param>
/// <param name="Multiprocessors">Multiprocessors (groups running at once).</param>
public sealed record CpuEmulationGeometry(int ThreadsPerWarp, int WarpsPerMultiprocessor, int Multiprocessors)
{
    /// <summary>The largest group the emulated device runs: threads per warp × warps per multiprocessor.</summary>
    public int MaxGroupSize => ThreadsPerWarp * WarpsPerMultiprocessor;
}
