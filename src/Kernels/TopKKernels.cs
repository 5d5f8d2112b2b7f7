using ILGPU;

namespace Accel.Kernels;

/// <summary>
/// Selection ops over a token's scores: OP-5 GroupLimitMask and OP-6 TopK, one group per token.
/// The order used everywhere is (value descending, index ascending), so ties go to the smaller index.
/// Scores are assumed NaN-free (NaN never wins a comparison here).
/// </summary>
public static class TopKKernels
{
    /// <summary>Largest group count GroupLimitMask handles (its shared arrays hold one slot per group).</summary>
    public const int MaxExpertGroups = 256;

    /// <summary>
    /// OP-6: the K best experts of row r = the group index, in order. Round j picks the best expert
    /// strictly after round j-1's pick in the order, so no per-expert state is kept: each thread scans
    /// its experts, the group reduces (value, index) pairs through shared memory, thread 0 writes.
    /// </summary>
    public static void TopK<TGroup>(ArrayView<float> scores, ArrayView<int> idx, int experts, int k)
        where TGroup : struct, IRowGroup
    {
        int size = default(TGroup).Size;
        var values = SharedMemory.Allocate<float>(default(TGroup).Size);
        var indices = SharedMemory.Allocate<int>(default(TGroup).Size);
        int tid = Group.IdxX;
        long rowBase = (long)Grid.IdxX * experts;
        float prevValue = 0f;
        int prevIndex = -1;
        for (int j = 0; j < k; j++)
        {
            float bestValue = float.NegativeInfinity;
            int bestIndex = -1;
            for (int e = tid; e < experts; e += size)
            {
                float v = scores[rowBase + e];
                bool eligible = j == 0 || v < prevValue || (v == prevValue && e > prevIndex);
                if (eligible && (bestIndex < 0 || v > bestValue))
                {
                    bestValue = v;
                    bestIndex = e;
                }
            }

            values[tid] = bestValue;
            indices[tid] = bestIndex;
            Group.Barrier();
            for (int s = size >> 1; s > 0; s >>= 1)
            {
                if (tid < s && Better(values[tid + s], indices[tid + s], values[tid], indices[tid]))
                {
                    values[tid] = values[tid + s];
                    indices[tid] = indices[tid + s];
                }

                Group.Barrier();
            }

            prevValue = values[0];
            prevIndex = indices[0];
            if (tid == 0)
            {
                idx[(long)Grid.IdxX * k + j] = prevIndex;
            }

            Group.Barrier();
        }
    }

    /// <summary>True when candidate (v, i) comes before (w, j) in the order; index -1 means none.</summary>
    public static bool Better(float v, int i, float w, int j) =>
        i >= 0 && (j < 0 || v > w || (v == w && i < j));

    /// <summary>
    /// OP-5: scores each group of E/G experts (its maximum, or the sum of its two largest), keeps the
    /// <paramref name="topGroups"/> best groups (ties to the smaller group) and writes -inf for the
    /// experts of the other groups. Row r = the group index; G must not exceed <see cref="MaxExpertGroups"/>.
    /// </summary>
    public static void GroupLimitMask<TGroup>(ArrayView<float> scores, ArrayView<float> result, int experts,
        int groups, int topGroups, int top2Sum)
        where TGroup : struct, IRowGroup
    {
        int size = default(TGroup).Size;
        var groupScores = SharedMemory.Allocate<float>(MaxExpertGroups);
        var keep = SharedMemory.Allocate<int>(MaxExpertGroups);
        int tid = Group.IdxX;
        long rowBase = (long)Grid.IdxX * experts;
        int per = experts / groups;
        for (int g = tid; g < groups; g += size)
        {
            float best = float.NegativeInfinity, second = float.NegativeInfinity;
            for (int i = 0; i < per; i++)
            {
                float v = scores[rowBase + g * per + i];
                if (v > best)
                {
                    second = best;
                    best = v;
                }
                else if (v > second)
                {
                    second = v;
                }
            }

            groupScores[g] = top2Sum != 0 ? best + second : best;
        }

        Group.Barrier();
        for (int g = tid; g < groups; g += size)
        {
            float mine = groupScores[g];
            int rank = 0;
            for (int h = 0; h < groups; h++)
            {
                float other = groupScores[h];
                if (other > mine || (other == mine && h < g))
                {
                    rank++;
                }
            }

            keep[g] = rank < topGroups ? 1 : 0;
        }

        Group.Barrier();
        for (int e = tid; e < experts; e += size)
        {
            result[rowBase + e] = keep[e / per] != 0 ? scores[rowBase + e] : float.NegativeInfinity;
        }
    }
}
