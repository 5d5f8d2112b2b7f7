using ILGPU;

namespace Accel.Kernels;

/// <summary>Scalar arguments of a (grouped) GEMM launch.</summary>
public struct GemmArgs
{
    /// <summary>Rows of the activation and output buffers.</summary>
    public int Rows;

    /// <summary>Reduction width (the weight's input features).</summary>
    public int In;

    /// <summary>Output width (the weight's output features).</summary>
    public int Out;

    /// <summary>Experts E; the offsets buffer holds E + 1 entries.</summary>
    public int Experts;

    /// <summary>1 when every row uses expert 0 and no offsets are read (a dense projection).</summary>
    public int Dense;
}

/// <summary>
/// OP-12 GroupedGemm (also RouterGemm and the dense projections of the shared expert):
/// Y[r] = X[r] * W[e]^T for every row r of expert e's segment [off[e], off[e+1]); rows past off[E]
/// are zero. Tiled through shared memory, each thread computing a 4x4 micro-tile; the weight is
/// dequantised while its tile is loaded, so quantised weights stay quantised in device memory.
/// </summary>
public static class GemmKernels
{
    /// <summary>
    /// Launch: grid (ceil(Rows / TileM), ceil(Out / TileN)), groups of ThreadsX * ThreadsY threads
    /// (1D). One launch covers every expert. A row tile inside one segment (alignment = TileM) runs
    /// one pass; a tile that spans segments (any other alignment) runs one pass per expert it
    /// touches, each pass masking the rows of the other experts. Tiles past off[E] only write zeros.
    /// </summary>
    public static void GroupedGemm<TTile, TFormat, TElem>(ArrayView<float> x, ArrayView<TElem> weight,
        ArrayView<byte> scale, ArrayView<int> offsets, ArrayView<float> y, GemmArgs a)
        where TTile : struct, IGemmTile
        where TFormat : struct, IWeightFormat<TElem>
        where TElem : unmanaged
    {
        var tile = default(TTile);
        var sharedA = SharedMemory.Allocate<float>(default(TTile).SharedA);
        var sharedB = SharedMemory.Allocate<float>(default(TTile).SharedB);
        int tm = tile.TileM, tn = tile.TileN, tk = tile.TileK, threadsX = tile.ThreadsX, threadsY = tile.ThreadsY;
        int threads = threadsX * threadsY;
        int tid = Group.IdxX;
        int tx = tid % threadsX, ty = tid / threadsX;
        int r0 = Grid.IdxX * tm, c0 = Grid.IdxY * tn;
        int tileEnd = Math.Min(r0 + tm, a.Rows);
        int total = a.Dense != 0 ? a.Rows : Math.Min(offsets[a.Experts], a.Rows);
        var dims = new WeightDims(a.Out, a.In);

        // Rows of this tile past the last segment are zero.
        for (int i = 0; i < 4; i++)
        {
            int r = r0 + ty + i * threadsY;
            if (r >= total && r < tileEnd)
            {
                for (int j = 0; j < 4; j++)
                {
                    int c = c0 + tx + j * threadsX;
                    if (c < a.Out)
                    {
                        y[(long)r * a.Out + c] = 0f;
                    }
                }
            }
        }

        if (r0 >= total)
        {
            return;
        }

        int rowsEnd = Math.Min(tileEnd, total);
        int firstExpert = a.Dense != 0 ? 0 : FindExpert(offsets, a.Experts, r0);
        int lastExpert = a.Dense != 0 ? 0 : FindExpert(offsets, a.Experts, rowsEnd - 1);
        for (int e = firstExpert; e <= lastExpert; e++)
        {
            int begin = a.Dense != 0 ? r0 : Math.Max(offsets[e], r0);
            int end = a.Dense != 0 ? rowsEnd : Math.Min(offsets[e + 1], rowsEnd);
            if (begin >= end)
            {
                continue;
            }

            var acc = default(Micro4x4);
            for (int k0 = 0; k0 < a.In; k0 += tk)
            {
                for (int i = tid; i < tm * tk; i += threads)
                {
                    int m = i / tk, kk = i - m * tk;
                    int r = r0 + m, col = k0 + kk;
                    sharedA[kk * tm + m] = r >= begin && r < end && col < a.In ? x[(long)r * a.In + col] : 0f;
                }

                for (int i = tid; i < tn * tk; i += threads)
                {
                    int n = i / tk, kk = i - n * tk;
                    int c = c0 + n, col = k0 + kk;
                    sharedB[kk * tn + n] = c < a.Out && col < a.In
                        ? default(TFormat).Load(weight, scale, dims, e, c, col)
                        : 0f;
                }

                Group.Barrier();
                for (int kk = 0; kk < tk; kk++)
                {
                    int ai = kk * tm + ty, bi = kk * tn + tx;
                    acc.Add(
                        sharedA[ai], sharedA[ai + threadsY], sharedA[ai + 2 * threadsY], sharedA[ai + 3 * threadsY],
                        sharedB[bi], sharedB[bi + threadsX], sharedB[bi + 2 * threadsX], sharedB[bi + 3 * threadsX]);
                }

                Group.Barrier();
            }

            StoreRow(y, a.Out, r0 + ty, begin, end, c0 + tx, threadsX, acc.R00, acc.R01, acc.R02, acc.R03);
            StoreRow(y, a.Out, r0 + ty + threadsY, begin, end, c0 + tx, threadsX, acc.R10, acc.R11, acc.R12, acc.R13);
            StoreRow(y, a.Out, r0 + ty + 2 * threadsY, begin, end, c0 + tx, threadsX, acc.R20, acc.R21, acc.R22, acc.R23);
            StoreRow(y, a.Out, r0 + ty + 3 * threadsY, begin, end, c0 + tx, threadsX, acc.R30, acc.R31, acc.R32, acc.R33);
        }
    }

    /// <summary>The expert whose segment holds row <paramref name="row"/>: the largest e &lt; E with off[e] &lt;= row.</summary>
    public static int FindExpert(ArrayView<int> offsets, int experts, int row)
    {
        int lo = 0, hi = experts - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (offsets[mid] <= row)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    /// <summary>Writes four outputs of row <paramref name="r"/> (if it lies in [begin, end)), columns c, c+s, c+2s, c+3s.</summary>
    private static void StoreRow(ArrayView<float> y, int width, int r, int begin, int end, int c, int s,
        float v0, float v1, float v2, float v3)
    {
        if (r < begin || r >= end)
        {
            return;
        }

        long at = (long)r * width;
        if (c < width) { y[at + c] = v0; }
        if (c + s < width) { y[at + c + s] = v1; }
        if (c + 2 * s < width) { y[at + c + 2 * s] = v2; }
        if (c + 3 * s < width) { y[at + c + 3 * s] = v3; }
    }
}

/// <summary>A thread's 4x4 accumulators, kept in registers (no local arrays).</summary>
public struct Micro4x4
{
    /// <summary>Row 0.</summary>
    public float R00, R01, R02, R03;
    /// <summary>Row 1.</summary>
    public float R10, R11, R12, R13;
    /// <summary>Row 2.</summary>
    public float R20, R21, R22, R23;
    /// <summary>Row 3.</summary>
    public float R30, R31, R32, R33;

    /// <summary>Adds the outer product of (a0..a3) and (b0..b3).</summary>
    public void Add(float a0, float a1, float a2, float a3, float b0, float b1, float b2, float b3)
    {
        R00 += a0 * b0; R01 += a0 * b1; R02 += a0 * b2; R03 += a0 * b3;
        R10 += a1 * b0; R11 += a1 * b1; R12 += a1 * b2; R13 += a1 * b3;
        R20 += a2 * b0; R21 += a2 * b1; R22 += a2 * b2; R23 += a2 * b3;
        R30 += a3 * b0; R31 += a3 * b1; R32 += a3 * b2; R33 += a3 * b3;
    }
}
