namespace Accel.Backends.Reference;

public static partial class ReferenceOps
{
    /// <summary>OP-9a: number of (token, slot) pairs routed to each expert.</summary>
    public static void ExpertHistogram(ReadOnlySpan<int> idx, Span<int> counts)
    {
        counts.Clear();
        foreach (int e in idx) { counts[CheckExpert(e, counts.Length)]++; }
    }

    /// <summary>OP-9b: off[0] = 0, off[e+1] = off[e] + ceil(cnt[e] / A) * A.</summary>
    public static void ExclusiveScan(ReadOnlySpan<int> counts, Span<int> offsets, int alignment)
    {
        offsets[0] = 0;
        for (int e = 0; e < counts.Length; e++)
        {
            offsets[e + 1] = offsets[e] + (counts[e] + alignment - 1) / alignment * alignment;
        }
    }

    /// <summary>
    /// OP-10: each (t, j) gets the next free row of its expert's segment, in ascending (t, j)
    /// order. Rows that no pair fills (segment padding and rows past off[E]) hold -1.
    /// </summary>
    public static void BuildPermutation(ReadOnlySpan<int> idx, ReadOnlySpan<int> offsets, Span<int> posToToken,
        Span<int> posToSlot, Span<int> tokenSlotToPos, int k)
    {
        int experts = offsets.Length - 1;
        posToToken.Fill(-1);
        posToSlot.Fill(-1);
        Span<int> fill = experts <= 1024 ? stackalloc int[experts] : new int[experts];
        fill.Clear();
        int tokens = k == 0 ? 0 : idx.Length / k;
        for (int t = 0; t < tokens; t++)
        {
            for (int j = 0; j < k; j++)
            {
                int e = CheckExpert(idx[t * k + j], experts);
                int pos = offsets[e] + fill[e]++;
                posToToken[pos] = t;
                posToSlot[pos] = j;
                tokenSlotToPos[t * k + j] = pos;
            }
        }
    }

    /// <summary>OP-11: Xp[r] = x[pos_to_token[r]], zero where the row is empty (-1).</summary>
    public static void Permute(ReadOnlySpan<float> x, ReadOnlySpan<int> posToToken, Span<float> xp, int d)
    {
        for (int r = 0; r < posToToken.Length; r++)
        {
            var dst = xp.Slice(r * d, d);
            int t = posToToken[r];
            if (t < 0) { dst.Clear(); }
            else { x.Slice(t * d, d).CopyTo(dst); }
        }
    }

    /// <summary>
    /// OP-14: y[t] = sum over j (in slot order) of w[t, j] * Yp[pos[t, j]] (w = 1 without weights).
    /// </summary>
    public static void Unpermute(ReadOnlySpan<float> yp, ReadOnlySpan<int> tokenSlotToPos, ReadOnlySpan<float> w,
        Span<float> y, int d, int k)
    {
        int tokens = k == 0 ? 0 : tokenSlotToPos.Length / k;
        Span<double> acc = d <= 4096 ? stackalloc double[d] : new double[d];
        for (int t = 0; t < tokens; t++)
        {
            acc.Clear();
            for (int j = 0; j < k; j++)
            {
                int pos = tokenSlotToPos[t * k + j];
                double weight = w.IsEmpty ? 1.0 : w[t * k + j];
                var row = yp.Slice(pos * d, d);
                for (int i = 0; i < d; i++) { acc[i] += weight * row[i]; }
            }

            for (int i = 0; i < d; i++) { y[t * d + i] = (float)acc[i]; }
        }
    }

    /// <summary>OP-16: c = a + b.</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c)
    {
        for (int i = 0; i < c.Length; i++) { c[i] = a[i] + b[i]; }
    }
}
