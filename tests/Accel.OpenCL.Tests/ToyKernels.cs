using ILGPU;
using ILGPU.Runtime;

namespace Accel.OpenCL.Tests;

/// <summary>Tile sizes as a type argument: <c>default(TTile).Size</c> is a constant after inlining.</summary>
public interface ITileConfig
{
    int Size { get; }
}

public struct Tile4 : ITileConfig
{
    public readonly int Size => 4;
}

public struct Tile16 : ITileConfig
{
    public readonly int Size => 16;
}

/// <summary>A struct argument whose fields need padding (byte, then an 8-aligned long).</summary>
public struct PaddedParams
{
    public byte Flag;
    public long Big;
    public float Scale;
    public short Small;
    public int Count;
}

/// <summary>Small kernels that exercise one feature each of the OpenCL path.</summary>
public static class ToyKernels
{
    public const int Tile = 8;

    public static void VectorAdd(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c) =>
        c[i] = a[i] + b[i];

    public static void Fill2D(Index2D i, ArrayView<int> output, int width) =>
        output[i.Y * width + i.X] = i.Y * 1000 + i.X;

    /// <summary>C[m,n] = A[m,k] * B[k,n], one Tile x Tile block per group, shared-memory tiles.</summary>
    public static void TiledMatMul(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, int m, int n, int k)
    {
        var tileA = SharedMemory.Allocate<float>(Tile * Tile);
        var tileB = SharedMemory.Allocate<float>(Tile * Tile);
        MatMulBody(a, b, c, m, n, k, Tile, tileA, tileB);
    }

    /// <summary>The same with the tile size from a type argument.</summary>
    public static void TiledMatMulGeneric<TTile>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        int m, int n, int k) where TTile : struct, ITileConfig
    {
        var tileA = SharedMemory.Allocate<float>(default(TTile).Size * default(TTile).Size);
        var tileB = SharedMemory.Allocate<float>(default(TTile).Size * default(TTile).Size);
        MatMulBody(a, b, c, m, n, k, default(TTile).Size, tileA, tileB);
    }

    /// <summary>The same with the tile size from a load-time SpecializedValue.</summary>
    public static void TiledMatMulSpecialized(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
        int m, int n, int k, SpecializedValue<int> tile)
    {
        var tileA = SharedMemory.Allocate<float>(tile * tile);
        var tileB = SharedMemory.Allocate<float>(tile * tile);
        MatMulBody(a, b, c, m, n, k, tile, tileA, tileB);
    }

    private static void MatMulBody(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, int m, int n, int k,
        int tile, ArrayView<float> tileA, ArrayView<float> tileB)
    {
        int tx = Group.IdxX;
        int ty = Group.IdxY;
        int col = Grid.IdxX * tile + tx;
        int row = Grid.IdxY * tile + ty;
        float sum = 0f;
        for (int t = 0; t < k; t += tile)
        {
            tileA[ty * tile + tx] = row < m && t + tx < k ? a[row * k + t + tx] : 0f;
            tileB[ty * tile + tx] = t + ty < k && col < n ? b[(t + ty) * n + col] : 0f;
            Group.Barrier();
            for (int e = 0; e < tile; e++)
            {
                sum += tileA[ty * tile + e] * tileB[e * tile + tx];
            }

            Group.Barrier();
        }

        if (row < m && col < n)
        {
            c[row * n + col] = sum;
        }
    }

    /// <summary>An implicitly grouped kernel with a specialised parameter between two views.</summary>
    public static void ScaleSpecialized(Index1D i, ArrayView<int> input, SpecializedValue<int> factor,
        ArrayView<int> output, int add) =>
        output[i] = input[i] * factor + add;

    public static void Histogram(Index1D i, ArrayView<int> data, ArrayView<int> bins) =>
        Atomic.Add(ref bins[data[i]], 1);

    /// <summary>Per-group histogram in shared memory, merged into global bins (local and global atomics).</summary>
    public static void SharedHistogram(ArrayView<int> data, ArrayView<int> bins, int count)
    {
        var local = SharedMemory.Allocate<int>(16);
        if (Group.IdxX < 16)
        {
            local[Group.IdxX] = 0;
        }

        Group.Barrier();
        int i = Grid.IdxX * Group.DimX + Group.IdxX;
        if (i < count)
        {
            Atomic.Add(ref local[data[i]], 1);
        }

        Group.Barrier();
        if (Group.IdxX < 16)
        {
            Atomic.Add(ref bins[Group.IdxX], local[Group.IdxX]);
        }
    }

    /// <summary>Min/max (signed and unsigned), exchange, CAS (float add), 64-bit add.</summary>
    public static void AtomicMix(Index1D i, ArrayView<int> ints, ArrayView<uint> uints, ArrayView<float> floats,
        ArrayView<long> longs)
    {
        Atomic.Max(ref ints[0], i - 5);
        Atomic.Min(ref ints[1], i - 5);
        Atomic.Max(ref uints[0], 0x80000000u + (uint)i);
        Atomic.Min(ref uints[1], 0x80000000u + (uint)i);
        Atomic.Or(ref ints[2], 1 << (i % 31));
        Atomic.Exchange(ref ints[3], 7);
        Atomic.Add(ref floats[0], 1f);
        Atomic.Add(ref longs[0], 1L << 33);
        Atomic.CompareExchange(ref ints[4], 0, i + 1);
    }

    /// <summary>Writes every scalar and struct field back, so misaligned arguments show.</summary>
    public static void ScalarArgs(Index1D i, ArrayView<long> ints, float f, int n, long l, PaddedParams p,
        ArrayView<float> floats)
    {
        if (i == 0)
        {
            ints[0] = n;
            ints[1] = l;
            ints[2] = p.Flag;
            ints[3] = p.Big;
            ints[4] = p.Small;
            ints[5] = p.Count;
            floats[0] = f;
            floats[1] = p.Scale;
        }
    }

    public static void UsesWarpShuffle(Index1D i, ArrayView<int> data) =>
        data[i] = Warp.Shuffle(data[i], 0);
}
