namespace Accel.Kernels;

/// <summary>
/// The shape of a GEMM tile, chosen when a kernel is loaded. A group of
/// <see cref="ThreadsX"/> x <see cref="ThreadsY"/> threads computes a
/// <see cref="TileM"/> x <see cref="TileN"/> block of outputs, each thread a 4x4 micro-tile, walking
/// the reduction axis <see cref="TileK"/> columns at a time through shared memory. Implementations
/// are empty structs whose properties return constants, so <c>default(TTile).SharedA</c> folds to a
/// compile-time size for <c>SharedMemory.Allocate</c> on every ILGPU target.
/// </summary>
public interface IGemmTile
{
    /// <summary>Threads across the output columns.</summary>
    int ThreadsX { get; }

    /// <summary>Threads across the output rows.</summary>
    int ThreadsY { get; }

    /// <summary>Output rows per tile (4 x <see cref="ThreadsY"/>).</summary>
    int TileM { get; }

    /// <summary>Output columns per tile (4 x <see cref="ThreadsX"/>).</summary>
    int TileN { get; }

    /// <summary>Reduction columns staged per step.</summary>
    int TileK { get; }

    /// <summary>Shared floats of the activation tile (TileM x TileK).</summary>
    int SharedA { get; }

    /// <summary>Shared floats of the weight tile (TileN x TileK).</summary>
    int SharedB { get; }
}

/// <summary>16x16 outputs, K step 16, 16 threads (fits ILGPU's small CPU-accelerator groups).</summary>
public readonly struct Tile16x16K16 : IGemmTile
{
    private const int M = 16, N = 16, K = 16;

    /// <inheritdoc/>
    public int ThreadsX => N / 4;
    /// <inheritdoc/>
    public int ThreadsY => M / 4;
    /// <inheritdoc/>
    public int TileM => M;
    /// <inheritdoc/>
    public int TileN => N;
    /// <inheritdoc/>
    public int TileK => K;
    /// <inheritdoc/>
    public int SharedA => M * K;
    /// <inheritdoc/>
    public int SharedB => N * K;
}

/// <summary>32x32 outputs, K step 16, 64 threads.</summary>
public readonly struct Tile32x32K16 : IGemmTile
{
    private const int M = 32, N = 32, K = 16;

    /// <inheritdoc/>
    public int ThreadsX => N / 4;
    /// <inheritdoc/>
    public int ThreadsY => M / 4;
    /// <inheritdoc/>
    public int TileM => M;
    /// <inheritdoc/>
    public int TileN => N;
    /// <inheritdoc/>
    public int TileK => K;
    /// <inheritdoc/>
    public int SharedA => M * K;
    /// <inheritdoc/>
    public int SharedB => N * K;
}

/// <summary>32x32 outputs, K step 32, 64 threads.</summary>
public readonly struct Tile32x32K32 : IGemmTile
{
    private const int M = 32, N = 32, K = 32;

    /// <inheritdoc/>
    public int ThreadsX => N / 4;
    /// <inheritdoc/>
    public int ThreadsY => M / 4;
    /// <inheritdoc/>
    public int TileM => M;
    /// <inheritdoc/>
    public int TileN => N;
    /// <inheritdoc/>
    public int TileK => K;
    /// <inheritdoc/>
    public int SharedA => M * K;
    /// <inheritdoc/>
    public int SharedB => N * K;
}

/// <summary>64x64 outputs, K step 16, 256 threads.</summary>
public readonly struct Tile64x64K16 : IGemmTile
{
    private const int M = 64, N = 64, K = 16;

    /// <inheritdoc/>
    public int ThreadsX => N / 4;
    /// <inheritdoc/>
    public int ThreadsY => M / 4;
    /// <inheritdoc/>
    public int TileM => M;
    /// <inheritdoc/>
    public int TileN => N;
    /// <inheritdoc/>
    public int TileK => K;
    /// <inheritdoc/>
    public int SharedA => M * K;
    /// <inheritdoc/>
    public int SharedB => N * K;
}

/// <summary>64x64 outputs, K step 32, 256 threads.</summary>
public readonly struct Tile64x64K32 : IGemmTile
{
    private const int M = 64, N = 64, K = 32;

    /// <inheritdoc/>
    public int ThreadsX => N / 4;
    /// <inheritdoc/>
    public int ThreadsY => M / 4;
    /// <inheritdoc/>
    public int TileM => M;
    /// <inheritdoc/>
    public int TileN => N;
    /// <inheritdoc/>
    public int TileK => K;
    /// <inheritdoc/>
    public int SharedA => M * K;
    /// <inheritdoc/>
    public int SharedB => N * K;
}

/// <summary>
/// The thread count of a group that reduces one row (token) through shared memory; a power of two,
/// chosen when the kernel is loaded and used as the size of its shared arrays.
/// </summary>
public interface IRowGroup
{
    /// <summary>Threads per group (a power of two).</summary>
    int Size { get; }
}

/// <summary>16 threads per row.</summary>
public readonly struct Group16 : IRowGroup
{
    /// <inheritdoc/>
    public int Size => 16;
}

/// <summary>64 threads per row.</summary>
public readonly struct Group64 : IRowGroup
{
    /// <inheritdoc/>
    public int Size => 64;
}

/// <summary>256 threads per row.</summary>
public readonly struct Group256 : IRowGroup
{
    /// <inheritdoc/>
    public int Size => 256;
}

/// <summary>A shipped GEMM tile: its struct type and its numbers.</summary>
/// <param name="Type">The struct implementing <see cref="IGemmTile"/>.</param>
/// <param name="M">Rows per tile.</param>
/// <param name="N">Columns per tile.</param>
/// <param name="K">Reduction step.</param>
public sealed record GemmTileSpec(Type Type, int M, int N, int K)
{
    /// <summary>Threads per group.</summary>
    public int Threads => M / 4 * (N / 4);

    /// <summary>Shared memory bytes the tile uses.</summary>
    public int SharedBytes => (M + N) * K * sizeof(float);

    /// <inheritdoc/>
    public override string ToString() => $"{M}x{N}x{K}";
}

/// <summary>A shipped row-group size: its struct type and thread count.</summary>
/// <param name="Type">The struct implementing <see cref="IRowGroup"/>.</param>
/// <param name="Size">Threads per group.</param>
public sealed record RowGroupSpec(Type Type, int Size)
{
    /// <inheritdoc/>
    public override string ToString() => $"g{Size}";
}

/// <summary>The specialisations shipped with the kernels, and lookups from numbers to them.</summary>
public static class Specialisations
{
    /// <summary>Every GEMM tile, smallest first.</summary>
    public static IReadOnlyList<GemmTileSpec> Tiles { get; } =
    [
        Describe<Tile16x16K16>(),
        Describe<Tile32x32K16>(),
        Describe<Tile32x32K32>(),
        Describe<Tile64x64K16>(),
        Describe<Tile64x64K32>(),
    ];

    /// <summary>Every row-group size, smallest first.</summary>
    public static IReadOnlyList<RowGroupSpec> RowGroups { get; } =
    [
        new(typeof(Group16), default(Group16).Size),
        new(typeof(Group64), default(Group64).Size),
        new(typeof(Group256), default(Group256).Size),
    ];

    /// <summary>The tile with exactly these numbers, or null when none is shipped.</summary>
    public static GemmTileSpec? FindTile(int m, int n, int k) =>
        Tiles.FirstOrDefault(t => t.M == m && t.N == n && t.K == k);

    /// <summary>The largest tile whose threads and shared memory fit the given device limits.</summary>
    public static GemmTileSpec BestTile(int maxThreadsPerGroup, int maxSharedBytes) =>
        Tiles.LastOrDefault(t => t.Threads <= maxThreadsPerGroup && t.SharedBytes <= maxSharedBytes) ?? Tiles[0];

    /// <summary>The row group with exactly <paramref name="size"/> threads, or null.</summary>
    public static RowGroupSpec? FindRowGroup(int size) => RowGroups.FirstOrDefault(g => g.Size == size);

    /// <summary>The largest row group that fits <paramref name="maxThreadsPerGroup"/>.</summary>
    public static RowGroupSpec BestRowGroup(int maxThreadsPerGroup) =>
        RowGroups.LastOrDefault(g => g.Size <= maxThreadsPerGroup) ?? RowGroups[0];

    private static GemmTileSpec Describe<T>() where T : struct, IGemmTile =>
        new(typeof(T), default(T).TileM, default(T).TileN, default(T).TileK);
}
