using System.Runtime.CompilerServices;
using Accel.Graph;

namespace Accel.Backends.Cpu.Routing;

/// <summary>
/// OP-9 and OP-10 as counting passes over checked ids. The permutation splits the tokens into
/// chunks: each chunk counts its ids per expert, a serial pass turns the counts into each chunk's
/// first row in every segment (chunks in token order), and each chunk then fills its rows in
/// ascending (token, slot) order, so a segment's rows come out ordered by token, then slot, as in
/// the spec, however many chunks run.
/// </summary>
internal static unsafe class Segments
{
    /// <summary>OP-9a: counts[e] = number of ids equal to e (ids already checked).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Histogram(int* ids, long n, int* counts, int experts)
    {
        new Span<int>(counts, experts).Clear();
        if (experts > 1024 || n < 256)
        {
            for (long i = 0; i < n; i++) { counts[ids[i]]++; }
            return;
        }

        // Four interleaved tallies: consecutive equal ids (skewed routing) do not wait on one counter.
        int* c = stackalloc int[4 * experts];
        new Span<int>(c, 4 * experts).Clear();
        long j = 0;
        for (; j + 4 <= n; j += 4)
        {
            c[ids[j]]++;
            c[experts + ids[j + 1]]++;
            c[2 * experts + ids[j + 2]]++;
            c[3 * experts + ids[j + 3]]++;
        }

        for (; j < n; j++) { c[ids[j]]++; }
        for (int e = 0; e < experts; e++) { counts[e] = c[e] + c[experts + e] + c[2 * experts + e] + c[3 * experts + e]; }
    }

    /// <summary>OP-9b: off[0] = 0, off[e+1] = off[e] + ceil(cnt[e] / A) * A (counts already checked).</summary>
    public static void Scan(int* counts, int* offsets, int experts, int alignment)
    {
        int at = 0;
        offsets[0] = 0;
        for (int e = 0; e < experts; e++)
        {
            at += (counts[e] + alignment - 1) / alignment * alignment;
            offsets[e + 1] = at;
        }
    }

    /// <summary>Counts the ids of tokens [t0, t1) per expert into <paramref name="counts"/> (cleared first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CountTokens(int* ids, int k, int t0, int t1, int* counts, int experts)
    {
        new Span<int>(counts, experts).Clear();
        int* end = ids + (long)t1 * k;
        for (int* p = ids + (long)t0 * k; p < end; p++) { counts[*p]++; }
    }

    /// <summary>
    /// Turns the per-chunk counts [chunks, E] into each chunk's first row per expert, checks every
    /// segment holds its pairs and writes -1 to the rows no pair fills.
    /// </summary>
    public static void Place(OpNode node, int* counts, int chunks, int* offsets, int experts, int* posToToken,
        int* posToSlot, int rows)
    {
        Empty(posToToken, posToSlot, 0, offsets[0]);
        for (int e = 0; e < experts; e++)
        {
            int next = offsets[e];
            for (int c = 0; c < chunks; c++)
            {
                int n = counts[(long)c * experts + e];
                counts[(long)c * experts + e] = next;
                next += n;
            }

            if (next > offsets[e + 1])
            {
                throw IndexChecks.SegmentOverflow(node, e, next - offsets[e], offsets[e + 1] - offsets[e]);
            }

            Empty(posToToken, posToSlot, next, offsets[e + 1]);
        }

        Empty(posToToken, posToSlot, offsets[experts], rows);
    }

    /// <summary>Gives each (t, j) of tokens [t0, t1), in ascending order, the next row of its expert.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Fill(int* ids, int k, int t0, int t1, int* next, int* posToToken, int* posToSlot, int* tokenSlotToPos)
    {
        for (int t = t0; t < t1; t++)
        {
            long at = (long)t * k;
            for (int j = 0; j < k; j++)
            {
                int pos = next[ids[at + j]]++;
                posToToken[pos] = t;
                posToSlot[pos] = j;
                tokenSlotToPos[at + j] = pos;
            }
        }
    }

    private static void Empty(int* posToToken, int* posToSlot, int from, int to)
    {
        if (to > from)
        {
            new Span<int>(posToToken + from, to - from).Fill(-1);
            new Span<int>(posToSlot + from, to - from).Fill(-1);
        }
    }
}
