using ILGPU;

namespace Accel.Kernels;

/// <summary>Error codes a kernel records in the status buffer instead of throwing.</summary>
public static class KernelStatus
{
    /// <summary>No error.</summary>
    public const int Ok = 0;

    /// <summary>A token id is outside the hash table (value = id, position = token).</summary>
    public const int TokenIdOutOfRange = 1;

    /// <summary>A table entry is not an expert id (value = entry, position = table row * K + column).</summary>
    public const int TableEntryOutOfRange = 2;

    /// <summary>A table row names an expert twice (value = expert, position = table row).</summary>
    public const int DuplicateExpert = 3;

    /// <summary>An expert id is outside 0..E-1 (value = id, position = flat index into the ids).</summary>
    public const int ExpertOutOfRange = 4;

    /// <summary>A row index does not address the rows of its buffer (value = index, position = flat index).</summary>
    public const int RowOutOfRange = 5;

    /// <summary>An expert's rows overflow its segment: offsets do not match the ids (value = expert).</summary>
    public const int SegmentOverflow = 6;

    /// <summary>Slots of the status buffer: code, value, position, node tag.</summary>
    public const int Length = 4;

    /// <summary>
    /// Records the first error of a launch sequence: the code wins a compare-exchange on slot 0, then
    /// value, position and the node tag are stored.
    /// </summary>
    public static void Report(ArrayView<int> status, int tag, int code, int value, int position)
    {
        if (Atomic.CompareExchange(ref status[0], Ok, code) == Ok)
        {
            status[1] = value;
            status[2] = position;
            status[3] = tag;
        }
    }
}

/// <summary>Group-wide reductions through shared memory and barriers (the portable subset).</summary>
public static class GroupReduce
{
    /// <summary>Sum of every thread's value; every thread receives the result. Size is a power of two.</summary>
    public static float Sum(ArrayView<float> shared, float value, int size)
    {
        int tid = Group.IdxX;
        shared[tid] = value;
        Group.Barrier();
        for (int s = size >> 1; s > 0; s >>= 1)
        {
            if (tid < s)
            {
                shared[tid] += shared[tid + s];
            }

            Group.Barrier();
        }

        float result = shared[0];
        Group.Barrier();
        return result;
    }

    /// <summary>Maximum of every thread's value (NaN-free inputs); every thread receives the result.</summary>
    public static float Max(ArrayView<float> shared, float value, int size)
    {
        int tid = Group.IdxX;
        shared[tid] = value;
        Group.Barrier();
        for (int s = size >> 1; s > 0; s >>= 1)
        {
            if (tid < s && shared[tid + s] > shared[tid])
            {
                shared[tid] = shared[tid + s];
            }

            Group.Barrier();
        }

        float result = shared[0];
        Group.Barrier();
        return result;
    }
}

/// <summary>Buffer initialisation kernels (grid-stride loops over a 1D launch).</summary>
public static class CommonKernels
{
    /// <summary>Sets the first <paramref name="count"/> elements to <paramref name="value"/>.</summary>
    public static void FillF32(ArrayView<float> target, float value, int count)
    {
        int stride = Grid.DimX * Group.DimX;
        for (int i = Grid.IdxX * Group.DimX + Group.IdxX; i < count; i += stride)
        {
            target[i] = value;
        }
    }

    /// <summary>Sets the first <paramref name="count"/> elements to <paramref name="value"/>.</summary>
    public static void FillI32(ArrayView<int> target, int value, int count)
    {
        int stride = Grid.DimX * Group.DimX;
        for (int i = Grid.IdxX * Group.DimX + Group.IdxX; i < count; i += stride)
        {
            target[i] = value;
        }
    }
}

/// <summary>
/// Transcendentals built on the base-2 intrinsics that every target implements natively (PTX
/// <c>ex2.approx</c>/<c>lg2.approx</c>, OpenCL <c>exp2</c>/<c>log2</c>), so kernels need neither NVVM's
/// libdevice nor ILGPU.Algorithms. Relative error about 1e-6 over the ranges the ops use.
/// </summary>
public static class KernelMath
{
    private const float Log2E = 1.44269504f;
    private const float Ln2 = 0.693147181f;

    /// <summary>e^x.</summary>
    public static float Exp(float x) => IntrinsicMath.CPUOnly.Exp2(x * Log2E);

    /// <summary>Natural logarithm of a positive x.</summary>
    public static float Log(float x) => IntrinsicMath.CPUOnly.Log2(x) * Ln2;

    /// <summary>
    /// log(1 + u) for u &gt;= 0, accurate for small u: a series below 1/8 (where the base-2 logarithm's
    /// absolute error would dominate), the logarithm above.
    /// </summary>
    public static float Log1P(float u)
    {
        if (u < 0.125f)
        {
            // u - u^2/2 + u^3/3 - ... + u^9/9; the first omitted term is below 1e-9 relative.
            float p = 1f / 9f;
            p = 1f / 8f - u * p;
            p = 1f / 7f - u * p;
            p = 1f / 6f - u * p;
            p = 1f / 5f - u * p;
            p = 1f / 4f - u * p;
            p = 1f / 3f - u * p;
            p = 1f / 2f - u * p;
            p = 1f - u * p;
            return u * p;
        }

        return Log(1f + u);
    }

    /// <summary>The logistic sigmoid 1 / (1 + e^-x).</summary>
    public static float Sigmoid(float x) => 1f / (1f + Exp(-x));
}
