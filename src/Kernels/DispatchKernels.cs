using ILGPU;

namespace Accel.Kernels;

/// <summary>
/// Token dispatch: OP-9 histogram and scan, OP-10 permutation, OP-11 Permute and OP-14 Unpermute.
/// Only integer atomics are used (the histogram); the permutation is deterministic and equals the
/// reference order; Permute and Unpermute are gathers, so results are bitwise reproducible.
/// </summary>
public static class DispatchKernels
{
    /// <summary>
    /// OP-9a: counts[idx[i]] += 1 for every (token, slot) i, with an integer atomic add on global
    /// memory; <paramref name="counts"/> must be zero before the launch. Grid-stride over the ids.
    /// </summary>
    public static void ExpertHistogram(ArrayView<int> idx, ArrayView<int> counts, int count, int experts,
        ArrayView<int> status, int tag)
    {
        int stride = Grid.DimX * Group.DimX;
        for (int i = Grid.IdxX * Group.DimX + Group.IdxX; i < count; i += stride)
        {
            int e = idx[i];
            if (e < 0 || e >= experts)
            {
                KernelStatus.Report(status, tag, KernelStatus.ExpertOutOfRange, e, i);
            }
            else
            {
                Atomic.Add(ref counts[e], 1);
            }
        }
    }

    /// <summary>
    /// OP-9b: off[0] = 0, off[e+1] = off[e] + ceil(cnt[e] / A) * A. One group walks the experts in
    /// chunks of its size, scanning each chunk in shared memory (Hillis-Steele) with a running carry.
    /// </summary>
    public static void ExclusiveScan<TGroup>(ArrayView<int> counts, ArrayView<int> offsets, int experts, int alignment)
        where TGroup : struct, IRowGroup
    {
        int size = default(TGroup).Size;
        var shared = SharedMemory.Allocate<int>(default(TGroup).Size);
        int tid = Group.IdxX;
        if (tid == 0)
        {
            offsets[0] = 0;
        }

        int carry = 0;
        for (int chunk = 0; chunk < experts; chunk += size)
        {
            int e = chunk + tid;
            int c = e < experts ? counts[e] : 0;
            shared[tid] = (c + alignment - 1) / alignment * alignment;
            Group.Barrier();
            for (int step = 1; step < size; step <<= 1)
            {
                int add = tid >= step ? shared[tid - step] : 0;
                Group.Barrier();
                shared[tid] += add;
                Group.Barrier();
            }

            if (e < experts)
            {
                offsets[e + 1] = carry + shared[tid];
            }

            carry += shared[size - 1];
            Group.Barrier();
        }
    }

    /// <summary>
    /// OP-10 pass 1: thread c counts the experts of ids [c*chunk, (c+1)*chunk) into row c of
    /// <paramref name="chunkCounts"/> [chunks, E] (zeroing the row first).
    /// </summary>
    public static void PermutationCount(ArrayView<int> idx, ArrayView<int> chunkCounts, int count, int chunk,
        int chunks, int experts, ArrayView<int> status, int tag)
    {
        int c = Grid.IdxX * Group.DimX + Group.IdxX;
        if (c >= chunks)
        {
            return;
        }

        long row = (long)c * experts;
        for (int e = 0; e < experts; e++)
        {
            chunkCounts[row + e] = 0;
        }

        int end = Math.Min(count, (c + 1) * chunk);
        for (int i = c * chunk; i < end; i++)
        {
            int e = idx[i];
            if (e < 0 || e >= experts)
            {
                KernelStatus.Report(status, tag, KernelStatus.ExpertOutOfRange, e, i);
            }
            else
            {
                chunkCounts[row + e] += 1;
            }
        }
    }

    /// <summary>
    /// OP-10 pass 2: thread e turns column e of <paramref name="chunkCounts"/> into the first row of
    /// each chunk's ids inside expert e's segment: off[e] plus the counts of the earlier chunks.
    /// </summary>
    public static void PermutationBase(ArrayView<int> offsets, ArrayView<int> chunkCounts, int chunks, int experts,
        ArrayView<int> status, int tag)
    {
        int e = Grid.IdxX * Group.DimX + Group.IdxX;
        if (e >= experts)
        {
            return;
        }

        int running = offsets[e];
        for (int c = 0; c < chunks; c++)
        {
            long at = (long)c * experts + e;
            int n = chunkCounts[at];
            chunkCounts[at] = running;
            running += n;
        }

        if (running > offsets[e + 1])
        {
            KernelStatus.Report(status, tag, KernelStatus.SegmentOverflow, e, running);
        }
    }

    /// <summary>
    /// OP-10 pass 3: thread c walks its chunk in (token, slot) order and gives each id the next row of
    /// its expert, so each segment holds its rows in ascending (token, slot) order, as the reference.
    /// <paramref name="posToToken"/> and <paramref name="posToSlot"/> must hold -1 before the launch.
    /// </summary>
    public static void PermutationPlace(ArrayView<int> idx, ArrayView<int> chunkBase, ArrayView<int> posToToken,
        ArrayView<int> posToSlot, ArrayView<int> tokenSlotToPos, int count, int chunk, int chunks, int experts, int k,
        ArrayView<int> status, int tag)
    {
        int c = Grid.IdxX * Group.DimX + Group.IdxX;
        if (c >= chunks)
        {
            return;
        }

        long row = (long)c * experts;
        int rows = (int)posToToken.Length;
        int end = Math.Min(count, (c + 1) * chunk);
        for (int i = c * chunk; i < end; i++)
        {
            int e = idx[i];
            int pos = -1;
            if (e >= 0 && e < experts)
            {
                pos = chunkBase[row + e];
                chunkBase[row + e] = pos + 1;
                if (pos >= rows)
                {
                    KernelStatus.Report(status, tag, KernelStatus.RowOutOfRange, pos, i);
                    pos = -1;
                }
                else
                {
                    posToToken[pos] = i / k;
                    posToSlot[pos] = i % k;
                }
            }

            tokenSlotToPos[i] = pos;
        }
    }

    /// <summary>OP-11: Xp[r, d] = x[pos_to_token[r], d], zero where the row is empty (-1). Grid-stride.</summary>
    public static void Permute(ArrayView<float> x, ArrayView<int> posToToken, ArrayView<float> rows, int width,
        int tokens, int count, ArrayView<int> status, int tag)
    {
        int stride = Grid.DimX * Group.DimX;
        for (int i = Grid.IdxX * Group.DimX + Group.IdxX; i < count; i += stride)
        {
            int r = i / width;
            int t = posToToken[r];
            float v = 0f;
            if (t >= tokens)
            {
                KernelStatus.Report(status, tag, KernelStatus.RowOutOfRange, t, r);
            }
            else if (t >= 0)
            {
                v = x[(long)t * width + (i - r * width)];
            }

            rows[i] = v;
        }
    }

    /// <summary>
    /// OP-14: y[t, d] = sum over j in slot order of w[t, j] * Yp[pos[t, j], d] (w = 1 when
    /// <paramref name="useWeights"/> is 0). A gather: no atomics, deterministic. Grid-stride.
    /// </summary>
    public static void Unpermute(ArrayView<float> rows, ArrayView<int> tokenSlotToPos, ArrayView<float> weights,
        ArrayView<float> y, int width, int k, int useWeights, int count, ArrayView<int> status, int tag)
    {
        int stride = Grid.DimX * Group.DimX;
        int rowCount = (int)(rows.Length / width);
        for (int i = Grid.IdxX * Group.DimX + Group.IdxX; i < count; i += stride)
        {
            int t = i / width;
            int d = i - t * width;
            float acc = 0f;
            for (int j = 0; j < k; j++)
            {
                int pos = tokenSlotToPos[(long)t * k + j];
                if (pos < 0 || pos >= rowCount)
                {
                    KernelStatus.Report(status, tag, KernelStatus.RowOutOfRange, pos, t * k + j);
                }
                else
                {
                    float w = useWeights != 0 ? weights[(long)t * k + j] : 1f;
                    acc += w * rows[(long)pos * width + d];
                }
            }

            y[i] = acc;
        }
    }
}
