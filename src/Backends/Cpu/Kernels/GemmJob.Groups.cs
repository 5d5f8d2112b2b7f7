using System.Runtime.CompilerServices;
using Accel.Backends.Cpu.Vnni;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// The 512-bit VNNI FP4 kernel's calls: whole groups of four weight rows per call, gate and up groups
/// alternating in pair mode, and a group beside its far partner in split tiles.
/// </summary>
internal sealed unsafe partial class GemmJob
{
    /// <summary>
    /// The whole groups of four weight rows of a decode tile (one or two rows) in one call of the
    /// 512-bit FP4 kernel; returns the first column left for <see cref="Block{TF}"/> (a partial group).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Fp4Groups(in GemmTask t, WeightRows4* rows)
    {
        int step = Pair ? 2 : 4, groups = (t.N1 - t.N0) / step, mr = t.M1 - t.M0;
        if (groups == 0)
        {
            return t.N0;
        }

        float* tile = stackalloc float[MaxGroups * 8];
        bool pairQuads = Pair && Gate.Quads;
        int n = pairQuads ? PairQuads(t, tile) : t.N0;

        // What PairQuads leaves (a tile edge off a whole group) goes a pair per call: in the quad
        // layout the next pair of a group is two chunks on, the next group's elsewhere.
        int most = pairQuads ? 1 : MaxGroups;
        long weightStep = step * Gate.RowBytes, scaleStep = step * Gate.ScaleRowBytes;
        byte* q = _quantized + t.M0 * _quantizedLd;
        for (int g0 = (n - t.N0) / step, count; g0 < groups; g0 += count)
        {
            count = Math.Min(most, groups - g0);
            int n0 = t.N0 + g0 * step;
            SetGroup(t.Expert, n0, rows);
            (mr == 2 ? _zmmTwo! : _zmmOne!).Run(q, q + _quantizedLd, rows, Gate.In, tile, count, weightStep, scaleStep);
            for (int g = 0; g < count; g++)
            {
                StoreTile(t, n0 + g * step, t.M0, mr, tile + g * mr * 4);
            }
        }

        return t.N0 + groups * step;
    }

    /// <summary>
    /// Pair mode on quad-layout weights: the gate rows' groups and the up rows' groups of the tile's
    /// whole groups of four columns alternate in one kernel call (gate group, its up group, the next
    /// gate group, ...; with one row the two-group kernel reads each gate group beside its up group),
    /// then each group's two pairs of columns are stored.
    /// Returns the first column left (a tile edge not on a whole group).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int PairQuads(in GemmTask t, float* tile)
    {
        int mr = t.M1 - t.M0, n = t.N0;
        if (n % QuadLayout.Rows != 0)
        {
            return n;
        }

        float* pair = stackalloc float[8];
        var kernel = mr == 2 ? _zmmTwo! : _zmmDual ?? _zmmOne!;
        long toUp = Up.Row(t.Expert, n) - Gate.Row(t.Expert, n), toUpScales = Up.ScaleRow(t.Expert, n) - Gate.ScaleRow(t.Expert, n);
        for (int count; (count = AlternatingGroups(kernel, t, n, toUp, toUpScales, tile)) > 0; n += count * QuadLayout.Rows)
        {
            // tile[g * mr * 4 + r * 4 + j]: group 2i gate, 2i+1 up; a pair tile wants (gate n, n+1, up n, n+1) per row.
            for (int i = 0; i < count; i++)
            {
                float* gate = tile + 2 * i * mr * 4, up = gate + mr * 4;
                for (int half = 0; half < 2; half++)
                {
                    for (int r = 0; r < mr; r++)
                    {
                        pair[r * 4] = gate[r * 4 + 2 * half];
                        pair[r * 4 + 1] = gate[r * 4 + 2 * half + 1];
                        pair[r * 4 + 2] = up[r * 4 + 2 * half];
                        pair[r * 4 + 3] = up[r * 4 + 2 * half + 1];
                    }

                    StoreTile(t, n + QuadLayout.Rows * i + 2 * half, t.M0, mr, pair);
                }
            }
        }

        return n;
    }

    /// <summary>
    /// A one-row quad-layout tile with a far range (<see cref="FarQuads"/>): group j of [N0, N1) and
    /// group j of [Far, ...) go side by side through the two-group kernel, then both are stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FarQuadGroups(in GemmTask t)
    {
        float* tile = stackalloc float[MaxGroups * 8];
        var far = t with { N0 = t.Far, N1 = t.Far + t.N1 - t.N0 };
        long toFar = Gate.Row(t.Expert, t.Far) - Gate.Row(t.Expert, t.N0), toFarScales = Gate.ScaleRow(t.Expert, t.Far) - Gate.ScaleRow(t.Expert, t.N0);
        for (int n = t.N0, count; (count = AlternatingGroups(_zmmDual!, t, n, toFar, toFarScales, tile)) > 0; n += count * QuadLayout.Rows)
        {
            for (int i = 0; i < count; i++)
            {
                int near = n + QuadLayout.Rows * i;
                StoreTile(t, near, t.M0, 1, tile + 8 * i);
                StoreTile(far, near - t.N0 + t.Far, t.M0, 1, tile + 8 * i + 4);
            }
        }
    }

    /// <summary>
    /// One kernel call over the whole groups of four columns of <paramref name="t"/> from column
    /// <paramref name="n"/> (at most <see cref="MaxGroups"/> / 2), each followed by its partner
    /// <paramref name="toSecond"/> bytes on (scales <paramref name="toSecondScales"/>): the up group of
    /// a gate/up pair, or the far group of a split tile. Writes tile[g * rows * 4 ..], group 2i first,
    /// its partner 2i + 1; returns the groups taken (0 when none is left).
    /// </summary>
    private int AlternatingGroups(Fp4Vnni512Kernel kernel, in GemmTask t, int n, long toSecond, long toSecondScales, float* tile)
    {
        int count = Math.Min(MaxGroups / 2, (t.N1 - n) / QuadLayout.Rows);
        if (count > 0)
        {
            WeightRows4 rows = default;
            SetFour(Gate, t.Expert, n, &rows);
            byte* q = _quantized + t.M0 * _quantizedLd;
            long groupBytes = QuadLayout.Rows * Gate.RowBytes, groupScales = QuadLayout.Rows * Gate.ScaleRowBytes;
            kernel.Run(q, q + _quantizedLd, &rows, Gate.In, tile, 2 * count, toSecond, toSecondScales, groupBytes - toSecond, groupScales - toSecondScales);
        }

        return count;
    }

    /// <summary>Groups per call of <see cref="Fp4Groups"/> (its tile buffer holds two rows of four per group).</summary>
    private const int MaxGroups = 16;

    /// <summary>Points <paramref name="rows"/> at the four weight rows of the group that starts at column <paramref name="n"/>.</summary>
    private void SetGroup(int e, int n, WeightRows4* rows)
    {
        if (Pair)
        {
            SetRow(ref rows->R0, ref rows->S0, Gate, e, n);
            SetRow(ref rows->R1, ref rows->S1, Gate, e, n + 1);
            SetRow(ref rows->R2, ref rows->S2, Up, e, n);
            SetRow(ref rows->R3, ref rows->S3, Up, e, n + 1);
        }
        else
        {
            SetFour(Gate, e, n, rows);
        }
    }

    /// <summary>Points <paramref name="rows"/> at rows n .. n+3 of expert <paramref name="e"/> of <paramref name="w"/>.</summary>
    private static void SetFour(in WeightMatrix w, int e, int n, WeightRows4* rows)
    {
        SetRow(ref rows->R0, ref rows->S0, w, e, n);
        SetRow(ref rows->R1, ref rows->S1, w, e, n + 1);
        SetRow(ref rows->R2, ref rows->S2, w, e, n + 2);
        SetRow(ref rows->R3, ref rows->S3, w, e, n + 3);
    }

    /// <summary>
    /// Whether one-row tiles of a single quad-layout FP4 weight pair group j with group j + G/2 (G
    /// groups of four outputs), decoded side by side by the two-group kernel, so a thread streams two
    /// regions of the weight at once.
    /// </summary>
    private bool FarQuads(int rows, int outDim) =>
        Fp4TwoGroups && !Pair && !Portable && Gate.Quads && rows == 1 && outDim % (2 * QuadLayout.Rows) == 0;
}
