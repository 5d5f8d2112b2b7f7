using ILGPU;

namespace Accel.Kernels;

/// <summary>Router ops: OP-3 scores, OP-4 selection bias, OP-7 hash routing and OP-8 route weights.</summary>
public static class RouterKernels
{
    /// <summary>Softmax over all experts.</summary>
    public const int Softmax = 0;

    /// <summary>Logistic sigmoid per expert.</summary>
    public const int Sigmoid = 1;

    /// <summary>sqrt(softplus(z)), softplus(z) = z above 20.</summary>
    public const int SqrtSoftplus = 2;

    /// <summary>
    /// OP-3: scores of row r = the group index. Softmax reduces the row's maximum and the sum of
    /// exponentials through shared memory; the other functions are per element.
    /// </summary>
    public static void RouterScore<TGroup>(ArrayView<float> logits, ArrayView<float> scores, int experts, int function)
        where TGroup : struct, IRowGroup
    {
        int size = default(TGroup).Size;
        var shared = SharedMemory.Allocate<float>(default(TGroup).Size);
        int tid = Group.IdxX;
        long rowBase = (long)Grid.IdxX * experts;
        if (function == Softmax)
        {
            float localMax = float.NegativeInfinity;
            for (int e = tid; e < experts; e += size)
            {
                float v = logits[rowBase + e];
                localMax = v > localMax ? v : localMax;
            }

            float max = GroupReduce.Max(shared, localMax, size);
            float localSum = 0f;
            for (int e = tid; e < experts; e += size)
            {
                localSum += KernelMath.Exp(logits[rowBase + e] - max);
            }

            float sum = GroupReduce.Sum(shared, localSum, size);
            for (int e = tid; e < experts; e += size)
            {
                scores[rowBase + e] = KernelMath.Exp(logits[rowBase + e] - max) / sum;
            }

            return;
        }

        for (int e = tid; e < experts; e += size)
        {
            float z = logits[rowBase + e];
            scores[rowBase + e] = function == Sigmoid ? KernelMath.Sigmoid(z) : MathF.Sqrt(Softplus(z));
        }
    }

    /// <summary>softplus(z) = z above 20, else log(1 + e^z) with an accurate log1p.</summary>
    public static float Softplus(float z) => z > 20f ? z : KernelMath.Log1P(KernelMath.Exp(z));

    /// <summary>OP-4: q[i] = p[i] + b[i mod E], grid-stride over <paramref name="count"/> elements.</summary>
    public static void SelectionBias(ArrayView<float> scores, ArrayView<float> bias, ArrayView<float> result,
        int experts, int count)
    {
        int stride = Grid.DimX * Group.DimX;
        for (int i = Grid.IdxX * Group.DimX + Group.IdxX; i < count; i += stride)
        {
            result[i] = scores[i] + bias[i % experts];
        }
    }

    /// <summary>
    /// OP-7: idx[t, :] = table[token_id[t], :], one thread per token; ids outside the table, entries
    /// that are not experts and repeated experts are reported through <paramref name="status"/> (the
    /// row then holds -1 where it is invalid).
    /// </summary>
    public static void HashRoute(ArrayView<int> tokenIds, ArrayView<int> table, ArrayView<int> idx,
        int tokens, int k, int experts, ArrayView<int> status, int tag)
    {
        int t = Grid.IdxX * Group.DimX + Group.IdxX;
        if (t >= tokens)
        {
            return;
        }

        int id = tokenIds[t];
        int vocab = (int)(table.Length / k);
        if (id < 0 || id >= vocab)
        {
            KernelStatus.Report(status, tag, KernelStatus.TokenIdOutOfRange, id, t);
            for (int j = 0; j < k; j++)
            {
                idx[(long)t * k + j] = -1;
            }

            return;
        }

        for (int j = 0; j < k; j++)
        {
            int e = table[(long)id * k + j];
            if (e < 0 || e >= experts)
            {
                KernelStatus.Report(status, tag, KernelStatus.TableEntryOutOfRange, e, id * k + j);
                e = -1;
            }
            else
            {
                for (int i = 0; i < j; i++)
                {
                    if (table[(long)id * k + i] == e)
                    {
                        KernelStatus.Report(status, tag, KernelStatus.DuplicateExpert, e, id);
                    }
                }
            }

            idx[(long)t * k + j] = e;
        }
    }

    /// <summary>
    /// OP-8: w = p[t, idx[t, j]]; divided by (sum over j + eps) when <paramref name="normalize"/> is 1;
    /// then times <paramref name="scale"/>. One thread per token.
    /// </summary>
    public static void RouteWeights(ArrayView<float> scores, ArrayView<int> idx, ArrayView<float> weights,
        int tokens, int experts, int k, int normalize, float scale, float epsilon, ArrayView<int> status, int tag)
    {
        int t = Grid.IdxX * Group.DimX + Group.IdxX;
        if (t >= tokens)
        {
            return;
        }

        float sum = 0f;
        for (int j = 0; j < k; j++)
        {
            int e = idx[(long)t * k + j];
            if (e < 0 || e >= experts)
            {
                KernelStatus.Report(status, tag, KernelStatus.ExpertOutOfRange, e, t * k + j);
            }
            else
            {
                sum += scores[(long)t * experts + e];
            }
        }

        for (int j = 0; j < k; j++)
        {
            int e = idx[(long)t * k + j];
            float v = e < 0 || e >= experts ? 0f : scores[(long)t * experts + e];
            if (normalize != 0)
            {
                v /= sum + epsilon;
            }

            weights[(long)t * k + j] = v * scale;
        }
    }
}
