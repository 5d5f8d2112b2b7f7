using Accel.Graph;
using Accel.Kernels;
using Accel.Types;

namespace Accel.Backends.KernelDispatch;

public sealed partial class KernelDispatcher
{
    private void FillI32(KernelOperand target, int value, int count)
    {
        if (count == 0)
        {
            return;
        }

        Launch(KernelCatalog.Plain(typeof(CommonKernels), nameof(CommonKernels.FillI32)), Elementwise(count), target, value, count);
    }

    private void ExpertHistogram(OpNode node, IDeviceBuffer idx, IDeviceBuffer counts)
    {
        int experts = Dim(counts, 0);
        int count = Count(node, idx.Desc.Shape.Elements);
        FillI32(I32(counts), 0, experts);
        if (count == 0)
        {
            return;
        }

        var (status, tag) = StatusFor(node);
        Launch(KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.ExpertHistogram)), Elementwise(count),
            I32(idx), I32(counts), count, experts, status, tag);
    }

    private void ExclusiveScan(OpNode node, IDeviceBuffer counts, IDeviceBuffer offsets)
    {
        var a = (SegmentAttributes)node.Attributes;
        Launch(KernelCatalog.RowKernel(typeof(DispatchKernels), nameof(DispatchKernels.ExclusiveScan), RowGroup), PerRow(1),
            I32(counts), I32(offsets), Dim(counts, 0), a.Alignment);
    }

    private void BuildPermutation(OpNode node, IDeviceBuffer idx, IDeviceBuffer offsets, IDeviceBuffer posToToken,
        IDeviceBuffer posToSlot, IDeviceBuffer tokenSlotToPos)
    {
        int rows = Count(node, posToToken.Desc.Shape.Elements);
        FillI32(I32(posToToken), -1, rows);
        FillI32(I32(posToSlot), -1, rows);
        int count = Count(node, idx.Desc.Shape.Elements);
        if (count == 0)
        {
            return;
        }

        int k = Dim(idx, 1), experts = Dim(offsets, 0) - 1;
        int chunks = (int)CeilDiv(count, PermutationChunk);
        var table = I32(Scratch("permutation", DType.I32, Count(node, (long)chunks * experts)));
        var (status, tag) = StatusFor(node);
        Launch(KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.PermutationCount)), PerItem(chunks),
            I32(idx), table, count, PermutationChunk, chunks, experts, status, tag);
        Launch(KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.PermutationBase)), PerItem(experts),
            I32(offsets), table, chunks, experts, status, tag);
        Launch(KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.PermutationPlace)), PerItem(chunks),
            I32(idx), table, I32(posToToken), I32(posToSlot), I32(tokenSlotToPos), count, PermutationChunk, chunks, experts, k,
            status, tag);
    }

    private void Permute(OpNode node, IDeviceBuffer x, IDeviceBuffer posToToken, IDeviceBuffer rows)
    {
        int count = Count(node, rows.Desc.Shape.Elements);
        if (count == 0)
        {
            return;
        }

        var (status, tag) = StatusFor(node);
        Launch(KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.Permute)), Elementwise(count),
            F32(x), I32(posToToken), F32(rows), Dim(x, 1), Dim(x, 0), count, status, tag);
    }

    private void Unpermute(OpNode node, IDeviceBuffer rows, IDeviceBuffer tokenSlotToPos, IDeviceBuffer? weights, IDeviceBuffer y)
    {
        int count = Count(node, y.Desc.Shape.Elements);
        if (count == 0)
        {
            return;
        }

        var (status, tag) = StatusFor(node);
        Launch(KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.Unpermute)), Elementwise(count),
            F32(rows), I32(tokenSlotToPos), weights is null ? EmptyF32 : F32(weights), F32(y), Dim(rows, 1),
            Dim(tokenSlotToPos, 1), weights is null ? 0 : 1, count, status, tag);
    }

    private void Add(OpNode node, IDeviceBuffer a, IDeviceBuffer b, IDeviceBuffer c)
    {
        int count = Count(node, c.Desc.Shape.Elements);
        if (count == 0)
        {
            return;
        }

        Launch(KernelCatalog.Plain(typeof(ActivationKernels), nameof(ActivationKernels.Add)), Elementwise(count),
            F32(a), F32(b), F32(c), count);
    }
}
