using Accel.Errors;
using Accel.Graph;

namespace Accel.Backends.Cpu.Routing;

/// <summary>
/// The checks of every op that reads ids (OP-7 to OP-10): bad ids are an <see cref="InvalidInputException"/>
/// that names the op, the tensor, the position and the allowed range. The checks run before any
/// parallel work, in ascending position, so the error reported is always the first bad id.
/// </summary>
internal static unsafe class IndexChecks
{
    /// <summary>How an op names itself in an error (built only when there is one): its kind and node name.</summary>
    private static string Name(OpNode node) => $"{node.Kind} '{node.Name}'";

    /// <summary>Checks that every id of <paramref name="ids"/> [rows, k] names one of <paramref name="experts"/> experts.</summary>
    public static void Experts(OpNode node, int* ids, long count, int k, int experts, bool wide)
    {
        long at = Lanes.FirstOutside(ids, count, experts, wide);
        if (at >= 0)
        {
            throw new InvalidInputException(
                $"{Name(node)}: expert id {ids[at]} at topk_ids[{at / k}, {at % k}] is outside 0..{experts - 1}; " +
                $"every id must name one of the layer's {experts} experts.");
        }
    }

    /// <summary>Checks that <paramref name="counts"/> are not negative and that their padded sum fits 32-bit row indices.</summary>
    public static void Counts(OpNode node, int* counts, int experts, int alignment)
    {
        long total = 0;
        for (int e = 0; e < experts; e++)
        {
            if (counts[e] < 0)
            {
                throw new InvalidInputException(
                    $"{Name(node)}: counts[{e}] = {counts[e]} is negative; counts must be the expert histogram of the ids.");
            }

            total += (counts[e] + (long)alignment - 1) / alignment * alignment;
        }

        if (total > int.MaxValue)
        {
            throw new InvalidInputException(
                $"{Name(node)}: the counts add up to {total} padded rows, more than 32-bit row indices address; " +
                "route fewer tokens per run.");
        }
    }

    /// <summary>
    /// Checks that <paramref name="offsets"/> [E+1] start at 0 or above, never decrease and end
    /// within the <paramref name="rows"/> rows of the permutation.
    /// </summary>
    public static void Offsets(OpNode node, int* offsets, int experts, long rows)
    {
        if (offsets[0] < 0)
        {
            throw new InvalidInputException(
                $"{Name(node)}: offsets[0] = {offsets[0]} is negative; offsets must be the exclusive scan of the counts.");
        }

        for (int e = 0; e < experts; e++)
        {
            if (offsets[e + 1] < offsets[e])
            {
                throw new InvalidInputException(
                    $"{Name(node)}: offsets[{e + 1}] = {offsets[e + 1]} is below offsets[{e}] = {offsets[e]}; " +
                    "offsets must be the exclusive scan of the counts.");
            }
        }

        if (offsets[experts] > rows)
        {
            throw new InvalidInputException(
                $"{Name(node)}: offsets[{experts}] = {offsets[experts]} is past the {rows} rows of pos_to_token; " +
                "offsets must be the exclusive scan of the counts of these ids.");
        }
    }

    /// <summary>The error of an expert with more (token, slot) pairs than its segment holds.</summary>
    public static InvalidInputException SegmentOverflow(OpNode node, int expert, long pairs, int segment) => new(
        $"{Name(node)}: expert {expert} has {pairs} rows in topk_ids but its segment in 'offsets' holds {segment}; " +
        "the offsets do not match the ids (they must be the exclusive scan of these ids' histogram).");

    /// <summary>
    /// OP-7: idx[t, :] = tid2eid[token_ids[t], :], checking each token id against the table, each
    /// entry against 0..E-1 and each row for a repeated expert, in ascending (t, j).
    /// </summary>
    public static void HashRoute(OpNode node, int* tokenIds, int tokens, int* table, int vocab, int k, int* idx, int experts)
    {
        // seen[e] == t + 1: expert e already holds a slot of token t (no clearing between tokens).
        Span<int> seen = experts > 4096 ? new int[experts] : stackalloc int[experts];
        seen.Clear();
        for (int t = 0; t < tokens; t++)
        {
            int id = tokenIds[t];
            if ((uint)id >= (uint)vocab)
            {
                throw new InvalidInputException(
                    $"{Name(node)}: token id {id} at token_ids[{t}] is outside the hash table (0..{vocab - 1}); " +
                    "check the token ids against the checkpoint's vocabulary.");
            }

            int* row = table + (long)id * k;
            for (int j = 0; j < k; j++)
            {
                int e = row[j];
                if ((uint)e >= (uint)experts)
                {
                    throw new InvalidInputException(
                        $"{Name(node)}: tid2eid[{id}, {j}] = {e} is not an expert id (0..{experts - 1}); " +
                        "the table does not fit this layer.");
                }

                if (seen[e] == t + 1)
                {
                    throw new InvalidInputException(
                        $"{Name(node)}: tid2eid row {id} names expert {e} twice; each row needs {k} distinct experts.");
                }

                seen[e] = t + 1;
                idx[(long)t * k + j] = e;
            }
        }
    }
}
