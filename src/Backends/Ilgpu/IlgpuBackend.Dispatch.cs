using Accel.Graph;
using Accel.Kernels;
using Accel.Types;
using ILGPU;
using ILGPU.Runtime;

namespace Accel.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    /// <summary>Ids handled by one thread of the permutation's count and place passes.</summary>
    public const int PermutationChunk = 256;

    private void FillI32(ArrayView<int> target, int value, int count)
    {
        if (count == 0)
        {
            return;
        }

        var method = KernelCatalog.Plain(typeof(CommonKernels), nameof(CommonKernels.FillI32));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<int>, int, int>>(method)(
            Stream, Elementwise(count), target, value, count);
    }

    private void ExpertHistogram(OpNode node, IlgpuBuffer idx, IlgpuBuffer counts)
    {
        int experts = counts.Dim(0);
        int count = Count(node, idx.Desc.Shape.Elements);
        FillI32(counts.I32, 0, experts);
        if (count == 0)
        {
            return;
        }

        var (status, tag) = StatusFor(node);
        var method = KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.ExpertHistogram));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, int, int, ArrayView<int>, int>>(method)(
            Stream, Elementwise(count), idx.I32, counts.I32, count, experts, status, tag);
    }

    private void ExclusiveScan(OpNode node, IlgpuBuffer counts, IlgpuBuffer offsets)
    {
        var a = (SegmentAttributes)node.Attributes;
        var method = KernelCatalog.RowKernel(typeof(DispatchKernels), nameof(DispatchKernels.ExclusiveScan), RowGroup);
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, int, int>>(method)(
            Stream, PerRow(1), counts.I32, offsets.I32, counts.Dim(0), a.Alignment);
    }

    private void BuildPermutation(OpNode node, IlgpuBuffer idx, IlgpuBuffer offsets, IlgpuBuffer posToToken,
        IlgpuBuffer posToSlot, IlgpuBuffer tokenSlotToPos)
    {
        int rows = Count(node, posToToken.Desc.Shape.Elements);
        FillI32(posToToken.I32, -1, rows);
        FillI32(posToSlot.I32, -1, rows);
        int count = Count(node, idx.Desc.Shape.Elements);
        if (count == 0)
        {
            return;
        }

        int k = idx.Dim(1), experts = offsets.Dim(0) - 1;
        int chunks = (int)CeilDiv(count, PermutationChunk);
        var table = Scratch("permutation", DType.I32, Count(node, (long)chunks * experts)).I32;
        var (status, tag) = StatusFor(node);
        var countPass = KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.PermutationCount));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, int, int, int, int,
            ArrayView<int>, int>>(countPass)(
            Stream, PerItem(chunks), idx.I32, table, count, PermutationChunk, chunks, experts, status, tag);
        var basePass = KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.PermutationBase));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, int, int, ArrayView<int>, int>>(basePass)(
            Stream, PerItem(experts), offsets.I32, table, chunks, experts, status, tag);
        var placePass = KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.PermutationPlace));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>,
            ArrayView<int>, int, int, int, int, int, ArrayView<int>, int>>(placePass)(
            Stream, PerItem(chunks), idx.I32, table, posToToken.I32, posToSlot.I32, tokenSlotToPos.I32, count,
            PermutationChunk, chunks, experts, k, status, tag);
    }

    private void Permute(OpNode node, IlgpuBuffer x, IlgpuBuffer posToToken, IlgpuBuffer rows)
    {
        int count = Count(node, rows.Desc.Shape.Elements);
        if (count == 0)
        {
            return;
        }

        var (status, tag) = StatusFor(node);
        var method = KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.Permute));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int,
            ArrayView<int>, int>>(method)(
            Stream, Elementwise(count), x.F32, posToToken.I32, rows.F32, x.Dim(1), x.Dim(0), count, status, tag);
    }

    private void Unpermute(OpNode node, IlgpuBuffer rows, IlgpuBuffer tokenSlotToPos, IlgpuBuffer? weights, IlgpuBuffer y)
    {
        int count = Count(node, y.Desc.Shape.Elements);
        if (count == 0)
        {
            return;
        }

        var (status, tag) = StatusFor(node);
        var method = KernelCatalog.Plain(typeof(DispatchKernels), nameof(DispatchKernels.Unpermute));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>,
            int, int, int, int, ArrayView<int>, int>>(method)(
            Stream, Elementwise(count), rows.F32, tokenSlotToPos.I32, weights?.F32 ?? EmptyF32, y.F32, rows.Dim(1),
            tokenSlotToPos.Dim(1), weights is null ? 0 : 1, count, status, tag);
    }

    private void Add(OpNode node, IlgpuBuffer a, IlgpuBuffer b, IlgpuBuffer c)
    {
        int count = Count(node, c.Desc.Shape.Elements);
        if (count == 0)
        {
            return;
        }

        var method = KernelCatalog.Plain(typeof(ActivationKernels), nameof(ActivationKernels.Add));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>>(method)(
            Stream, Elementwise(count), a.F32, b.F32, c.F32, count);
    }

    // The empty views below point into the 4-int status buffer, so even a speculative read stays in bounds.

    /// <summary>An empty float view for absent optional inputs (never read by the kernels).</summary>
    private ArrayView<float> EmptyF32 => _status.View.BaseView.Cast<float>().SubView(0, 0);

    /// <summary>An empty int view for absent optional inputs (never read by the kernels).</summary>
    private ArrayView<int> EmptyI32 => _status.View.BaseView.SubView(0, 0);
}
