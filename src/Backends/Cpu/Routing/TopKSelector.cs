using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Accel.Backends.Cpu.Routing;

/// <summary>
/// The K largest of a row of floats, descending, ties to the smaller index (OP-6, and OP-5's
/// choice of groups). Each value becomes an int key whose order is the float order: -0 and +0
/// are one key, and NaN ranks below every number (-inf included), so a NaN is chosen only when
/// fewer than K numbers remain. The keys are kept in blocks of one vector with each block's
/// largest key beside them; a pick finds the first block holding the largest key, the first lane
/// of that block holding it, retires the lane and refreshes that block's largest key. A pick costs
/// a few vector operations whatever the row length, with no branch on the data but the search.
/// </summary>
internal static unsafe class TopKSelector
{
    /// <summary>The key of a picked entry: below every value's key, so never picked again.</summary>
    private const int Retired = int.MinValue;

    /// <summary>The key of NaN: below -inf, above retired entries.</summary>
    private const int NaNKey = int.MinValue + 1;

    /// <summary>Ints of scratch memory a row of <paramref name="n"/> values needs.</summary>
    public static int ScratchInts(int n, bool wide)
    {
        int w = Lanes.Width(wide), blocks = (n + w - 1) / w;
        return blocks * w + (blocks + w - 1) / w * w;
    }

    /// <summary>The order key of one value (see the class summary).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Key(float v)
    {
        if (float.IsNaN(v))
        {
            return NaNKey;
        }

        int b = BitConverter.SingleToInt32Bits(v + 0f);
        return b ^ ((b >> 31) & int.MaxValue);
    }

    /// <summary>
    /// Writes to <paramref name="picked"/> the positions of the <paramref name="k"/> (at most
    /// <paramref name="n"/>) largest of <paramref name="values"/>, largest first.
    /// </summary>
    public static void Select(float* values, int n, int k, int* picked, int* scratch, bool wide)
    {
        int w = Lanes.Width(wide), blocks = (n + w - 1) / w, padded = (blocks + w - 1) / w * w;
        int* keys = scratch, best = scratch + blocks * w;
        int done = wide ? Keys512(values, n, keys, best) : KeysPortable(values, n, keys, best);
        if (done < n)
        {
            // The last block is partial: its missing lanes hold retired keys.
            for (int i = done; i < blocks * w; i++) { keys[i] = i < n ? Key(values[i]) : Retired; }
            best[blocks - 1] = Lanes.Max(keys + done, w, wide);
        }

        for (int b = blocks; b < padded; b++) { best[b] = Retired; }
        for (int j = 0; j < k; j++)
        {
            int top = Lanes.Max(best, padded, wide);
            int block = Lanes.IndexOf(best, padded, top, wide);
            int* row = keys + block * w;
            int lane = Lanes.IndexOf(row, w, top, wide);
            picked[j] = block * w + lane;
            row[lane] = Retired;
            best[block] = Lanes.Max(row, w, wide);
        }
    }

    /// <summary>Keys and block maxima of the whole blocks (16 lanes); returns the count done.</summary>
    private static int Keys512(float* values, int n, int* keys, int* best)
    {
        int i = 0;
        var signs = Vector512.Create(int.MaxValue);
        var nan = Vector512.Create(NaNKey);
        for (; i + 16 <= n; i += 16)
        {
            var v = Vector512.Load(values + i);
            var bits = (v + Vector512<float>.Zero).AsInt32();
            var key = bits ^ (Vector512.ShiftRightArithmetic(bits, 31) & signs);
            key = Vector512.ConditionalSelect(Vector512.Equals(v, v).AsInt32(), key, nan);
            key.Store(keys + i);
            best[i / 16] = Lanes.Max(key);
        }

        return i;
    }

    /// <summary>Keys and block maxima of the whole blocks (portable width); returns the count done.</summary>
    private static int KeysPortable(float* values, int n, int* keys, int* best)
    {
        int i = 0, w = Vector<int>.Count;
        var signs = new Vector<int>(int.MaxValue);
        var nan = new Vector<int>(NaNKey);
        for (; i + w <= n; i += w)
        {
            var v = Vector.Load(values + i);
            var bits = Vector.AsVectorInt32(v + Vector<float>.Zero);
            var key = bits ^ (Vector.ShiftRightArithmetic(bits, 31) & signs);
            key = Vector.ConditionalSelect(Vector.Equals(v, v), key, nan);
            key.Store(keys + i);
            best[i / w] = Lanes.Max(key);
        }

        return i;
    }
}
