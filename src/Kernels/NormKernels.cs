using ILGPU;

namespace Accel.Kernels;

/// <summary>OP-1 RmsNorm: one group per row, the sum of squares reduced through shared memory.</summary>
public static class NormKernels
{
    /// <summary>
    /// y[r] = w * x[r] / sqrt(mean(x[r]^2) + eps) for row r = the group index. Launch: one group of
    /// <c>TGroup.Size</c> threads per row. The weight [D] is read through its format.
    /// </summary>
    public static void RmsNorm<TGroup, TFormat, TElem>(
        ArrayView<float> x, ArrayView<TElem> weight, ArrayView<float> y, int width, float epsilon)
        where TGroup : struct, IRowGroup
        where TFormat : struct, IWeightFormat<TElem>
        where TElem : unmanaged
    {
        int size = default(TGroup).Size;
        var shared = SharedMemory.Allocate<float>(default(TGroup).Size);
        int tid = Group.IdxX;
        long rowBase = (long)Grid.IdxX * width;
        float squares = 0f;
        for (int i = tid; i < width; i += size)
        {
            float v = x[rowBase + i];
            squares += v * v;
        }

        float total = GroupReduce.Sum(shared, squares, size);
        float inv = 1f / MathF.Sqrt(total / width + epsilon);
        var dims = new WeightDims(1, width);
        for (int i = tid; i < width; i += size)
        {
            y[rowBase + i] = default(TFormat).Load(weight, default, dims, 0, 0, i) * (x[rowBase + i] * inv);
        }
    }
}
