using ILGPU;

namespace Accel.Kernels;

/// <summary>Elementwise ops: OP-13 SwiGlu, OP-16 Add, and the sigmoid expert gate of OP-15.</summary>
public static class ActivationKernels
{
    /// <summary>
    /// OP-13: g = min(gate, L), u = clamp(up, -L, L) when <paramref name="hasLimit"/> is 1; a = silu(g) * u;
    /// times w[pos_to_token[r], pos_to_slot[r]] when <paramref name="weighted"/> is 1 (0 for empty rows).
    /// Grid-stride over <paramref name="count"/> elements of rows of <paramref name="width"/>.
    /// </summary>
    public static void SwiGlu(ArrayView<float> gate, ArrayView<float> up, ArrayView<float> result, int width,
        int count, int hasLimit, float limit, int weighted, ArrayView<float> weights, ArrayView<int> posToToken,
        ArrayView<int> posToSlot, int k)
    {
        int stride = Grid.DimX * Group.DimX;
        for (int i = Grid.IdxX * Group.DimX + Group.IdxX; i < count; i += stride)
        {
            float g = gate[i], u = up[i];
            if (hasLimit != 0)
            {
                g = g < limit ? g : limit;
                u = u < -limit ? -limit : u > limit ? limit : u;
            }

            float v = g * KernelMath.Sigmoid(g) * u;
            if (weighted != 0)
            {
                int r = i / width;
                int t = posToToken[r];
                v = t < 0 ? 0f : v * weights[(long)t * k + posToSlot[r]];
            }

            result[i] = v;
        }
    }

    /// <summary>OP-16: c = a + b, grid-stride.</summary>
    public static void Add(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, int count)
    {
        int stride = Grid.DimX * Group.DimX;
        for (int i = Grid.IdxX * Group.DimX + Group.IdxX; i < count; i += stride)
        {
            c[i] = a[i] + b[i];
        }
    }

    /// <summary>
    /// OP-15 expert gate (Qwen style): z[r, :] *= sigmoid(x[r] . g) for row r = the group index, the dot
    /// product reduced through shared memory. The gate vector [1, D] is read through its format.
    /// </summary>
    public static void ExpertGate<TGroup, TFormat, TElem>(ArrayView<float> x, ArrayView<TElem> gateWeight,
        ArrayView<float> z, int width, int outWidth)
        where TGroup : struct, IRowGroup
        where TFormat : struct, IWeightFormat<TElem>
        where TElem : unmanaged
    {
        int size = default(TGroup).Size;
        var shared = SharedMemory.Allocate<float>(default(TGroup).Size);
        int tid = Group.IdxX;
        long row = Grid.IdxX;
        var dims = new WeightDims(1, width);
        float partial = 0f;
        for (int i = tid; i < width; i += size)
        {
            partial += x[row * width + i] * default(TFormat).Load(gateWeight, default, dims, 0, 0, i);
        }

        float dot = GroupReduce.Sum(shared, partial, size);
        float gate = KernelMath.Sigmoid(dot);
        for (int i = tid; i < outWidth; i += size)
        {
            z[row * outWidth + i] *= gate;
        }
    }
}
