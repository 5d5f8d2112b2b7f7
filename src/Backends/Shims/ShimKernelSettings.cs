using Accel.Backends.Ilgpu;
using Accel.Kernels;
using Accel.Profiles;

namespace Accel.Backends.Shims;

/// <summary>
/// The kernel parameters a profile asks for, resolved against the specialisations the kernels ship
/// and the emulated geometry: the profile's GEMM tile when it is shipped and its threads fit one
/// group of the emulated device, otherwise the largest shipped tile that divides it and fits; the
/// same for the row-reduction group. Why a value differs from the profile is in <see cref="Note"/>.
/// </summary>
/// <param name="Geometry">The ILGPU CPU geometry (from the profile).</param>
/// <param name="RequestedTile">The profile's GEMM tile.</param>
/// <param name="Tile">The tile the inner target uses.</param>
/// <param name="RequestedRowGroup">The profile's row-reduction group size.</param>
/// <param name="RowGroup">The row group the inner target uses.</param>
/// <param name="Note">Empty when both are the profile's own; else why not.</param>
public sealed record ShimKernelSettings(CpuEmulationGeometry Geometry, GemmTile RequestedTile, GemmTileSpec Tile,
    int RequestedRowGroup, RowGroupSpec RowGroup, string Note)
{
    /// <summary>Resolves the settings of <paramref name="profile"/>.</summary>
    public static ShimKernelSettings Resolve(HardwareProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var geometry = profile.Kernels.CpuEmulation;
        var want = profile.Kernels.GemmTile;
        int maxGroup = geometry.MaxGroupSize;
        var notes = new List<string>();
        var tile = Specialisations.FindTile(want.M, want.N, want.K) is { } exact && exact.Threads <= maxGroup
            ? exact
            : Specialisations.Tiles.LastOrDefault(t =>
                  t.Threads <= maxGroup && want.M % t.M == 0 && want.N % t.N == 0 && want.K % t.K == 0)
              ?? Specialisations.Tiles[0];
        if (tile.M != want.M || tile.N != want.N || tile.K != want.K)
        {
            notes.Add($"GEMM tile {want.M}x{want.N}x{want.K} -> {tile} (largest shipped tile dividing it whose " +
                $"{tile.Threads} threads fit a {maxGroup}-thread group)");
        }

        int wantGroup = profile.Kernels.RowReductionGroupSize;
        var group = Specialisations.FindRowGroup(wantGroup) is { } g && g.Size <= maxGroup
            ? g
            : Specialisations.RowGroups.LastOrDefault(r => r.Size <= Math.Min(wantGroup, maxGroup)) ?? Specialisations.RowGroups[0];
        if (group.Size != wantGroup)
        {
            notes.Add($"row group {wantGroup} -> {group.Size} (largest shipped size within {Math.Min(wantGroup, maxGroup)})");
        }

        return new ShimKernelSettings(geometry, want, tile, wantGroup, group, string.Join("; ", notes));
    }

    /// <summary>The options that open the ILGPU CPU accelerator with these settings.</summary>
    public IlgpuOptions ToIlgpuOptions(long? memoryLimitBytes) => new()
    {
        CpuThreadsPerWarp = Geometry.ThreadsPerWarp,
        CpuWarpsPerMultiprocessor = Geometry.WarpsPerMultiprocessor,
        CpuMultiprocessors = Geometry.Multiprocessors,
        GemmTile = (Tile.M, Tile.N, Tile.K),
        RowGroupSize = RowGroup.Size,
        MemoryLimitBytes = memoryLimitBytes,
    };
}
