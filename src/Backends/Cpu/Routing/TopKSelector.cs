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
/// a few vector operations (one more per vector of block maxima), with no branch on the data but the search.
/// </summary>
internal static unsafe class TopKSelector
{
    /// <summary>The key of a picked entry: below every value's key, so never picked again.</summary>
    public const int Retired = int.MinValue;

    /// <summary>The key of NaN: below -inf, above retired entries.</summary>
    public const int NaNKey = int.MinValue + 1;

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
        if (wide)
        {
            Select<Vector512<int>, KeyLanes512>(values, n, k, picked, scratch);
        }
        else
        {
            Select<Vector<int>, KeyLanesPortable>(values, n, k, picked, scratch);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Select<TV, TL>(float* values, int n, int k, int* picked, int* scratch)
        where TV : struct
        where TL : struct, IKeyLanes<TV>
    {
        int w = TL.Width, blocks = (n + w - 1) / w, whole = n / w, padded = (blocks + w - 1) / w * w;
        int* keys = scratch, best = scratch + blocks * w;
        for (int b = 0; b < whole; b++)
        {
            var key = TL.Keys(values + b * w);
            TL.Store(key, keys + b * w);
            best[b] = TL.Max(key);
        }

        if (whole < blocks)
        {
            // The last block is partial: its missing lanes hold retired keys.
            for (int i = whole * w; i < blocks * w; i++) { keys[i] = i < n ? Key(values[i]) : Retired; }
            best[whole] = TL.Max(TL.Load(keys + whole * w));
        }

        for (int b = blocks; b < padded; b++) { best[b] = Retired; }
        for (int j = 0; j < k; j++)
        {
            // The largest key, the first block holding it, the first lane of that block holding it.
            var m = TL.Load(best);
            for (int b = w; b < padded; b += w) { m = TL.Max(m, TL.Load(best + b)); }
            int top = TL.Max(m), group = 0, at;
            while ((at = TL.IndexOf(TL.Load(best + group), top)) < 0) { group += w; }
            int block = group + at;
            var row = TL.Load(keys + block * w);
            int lane = TL.IndexOf(row, top);
            picked[j] = block * w + lane;

            // Retire the lane and refresh the block's maximum with whole-vector stores, so the next
            // pick's loads are served from the store buffer.
            row = TL.With(row, lane, Retired);
            TL.Store(row, keys + block * w);
            TL.Store(TL.With(TL.Load(best + group), at, TL.Max(row)), best + group);
        }
    }
}
