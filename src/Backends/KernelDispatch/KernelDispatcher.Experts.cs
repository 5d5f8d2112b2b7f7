using Accel.Graph;
using Accel.Kernels;
using Accel.Types;

namespace Accel.Backends.KernelDispatch;

public sealed partial class KernelDispatcher
{
    private void GroupedGemm(IDeviceBuffer rows, IDeviceBuffer weight, IDeviceBuffer? scale, IDeviceBuffer offsets, IDeviceBuffer y)
    {
        var a = new GemmArgs { Rows = Dim(rows, 0), In = Dim(rows, 1), Out = Dim(weight, 1), Experts = Dim(weight, 0) };
        Gemm(F32(rows), weight, scale, I32(offsets), F32(y), a);
    }

    private void RouterGemm(IDeviceBuffer x, IDeviceBuffer weight, IDeviceBuffer z)
    {
        FloatFormat(weight);
        var a = new GemmArgs { Rows = Dim(x, 0), In = Dim(x, 1), Out = Dim(weight, 0), Experts = 1, Dense = 1 };
        Gemm(F32(x), weight, null, EmptyI32, F32(z), a);
    }

    /// <summary>One launch of the tiled GEMM over every expert (or a dense projection when a.Dense is 1).</summary>
    private void Gemm(KernelOperand x, IDeviceBuffer weight, IDeviceBuffer? scale, KernelOperand offsets, KernelOperand y,
        GemmArgs a)
    {
        if ((long)a.Rows * a.Out == 0)
        {
            return;
        }

        var format = KernelCatalog.FormatOf(weight.Desc.Type, scale?.Desc.Type)
            ?? throw new NotSupportedException($"weight '{weight.Desc.Name}' ({weight.Desc.Type}) has no kernel format.");
        var shape = new LaunchShape(checked((int)CeilDiv(a.Rows, GemmTile.M)), checked((int)CeilDiv(a.Out, GemmTile.N)),
            GemmTile.Threads, 1);
        var w = KernelOperand.View(weight, KernelCatalog.TypesOf(format).Element);
        Launch(KernelCatalog.GroupedGemm(GemmTile, format), shape, x, w, scale is null ? EmptyBytes : Bytes(scale), offsets, y,
            KernelOperand.Of(a));
    }

    private void SwiGlu(OpNode node, IDeviceBuffer gate, IDeviceBuffer up, IDeviceBuffer? weights, IDeviceBuffer? posToToken,
        IDeviceBuffer? posToSlot, IDeviceBuffer result)
    {
        int count = Count(node, result.Desc.Shape.Elements);
        var limit = ((SwiGluAttributes)node.Attributes).Limit;
        // An empty weight tensor (T = 0) still means weighted: every row is padding, so every output is 0.
        // The empty placeholder view is passed instead, since the kernel never reads weights of padding rows.
        var weightOperand = weights is null ? (KernelOperand?)null : weights.Desc.ByteSize == 0 ? EmptyF32 : F32(weights);
        LaunchSwiGlu(F32(gate), F32(up), F32(result), Dim(gate, 1), count, limit,
            weightOperand, posToToken is null ? EmptyI32 : I32(posToToken),
            posToSlot is null ? EmptyI32 : I32(posToSlot), weights is null ? 0 : Dim(weights, 1));
    }

    private void LaunchSwiGlu(KernelOperand gate, KernelOperand up, KernelOperand result, int width, int count,
        float? limit, KernelOperand? weights, KernelOperand posToToken, KernelOperand posToSlot, int k)
    {
        if (count == 0)
        {
            return;
        }

        Launch(KernelCatalog.Plain(typeof(ActivationKernels), nameof(ActivationKernels.SwiGlu)), Elementwise(count),
            gate, up, result, width, count, limit is null ? 0 : 1, limit ?? 0f,
            weights is null ? 0 : 1, weights ?? EmptyF32, posToToken, posToSlot, k);
    }

    private void SharedExpert(OpNode node, IDeviceBuffer?[] i, IDeviceBuffer z)
    {
        IDeviceBuffer x = i[0]!, gateW = i[1]!, upW = i[3]!, downW = i[5]!;
        int tokens = Dim(x, 0), width = Dim(x, 1), inner = Dim(gateW, 0);
        if (tokens == 0)
        {
            return;
        }

        int hidden = Count(node, (long)tokens * inner);
        var h1 = F32(Scratch("shared-expert.gate", DType.F32, hidden));
        var h3 = F32(Scratch("shared-expert.up", DType.F32, hidden));
        var up = new GemmArgs { Rows = tokens, In = width, Out = inner, Experts = 1, Dense = 1 };
        Gemm(F32(x), gateW, i[2], EmptyI32, h1, up);
        Gemm(F32(x), upW, i[4], EmptyI32, h3, up);
        LaunchSwiGlu(h1, h3, h1, inner, hidden, ((SwiGluAttributes)node.Attributes).Limit, null, EmptyI32, EmptyI32, 0);
        var down = new GemmArgs { Rows = tokens, In = inner, Out = Dim(downW, 0), Experts = 1, Dense = 1 };
        Gemm(h1, downW, i[6], EmptyI32, F32(z), down);
        if (i[7] is not { } gate || width == 0)
        {
            return;
        }

        var format = FloatFormat(gate);
        Launch(KernelCatalog.ExpertGate(RowGroup, format), PerRow(tokens),
            F32(x), format == WeightFormat.F32 ? F32(gate) : U16(gate), F32(z), width, down.Out);
    }

    private void Dequantize(IDeviceBuffer weight, IDeviceBuffer scale, IDeviceBuffer result)
    {
        var shape = weight.Desc.Shape;
        long count = shape.Elements;
        if (count == 0)
        {
            return;
        }

        var dims = new WeightDims(checked((int)shape[shape.Rank - 2]), checked((int)shape[shape.Rank - 1]));
        var format = KernelCatalog.FormatOf(weight.Desc.Type, scale.Desc.Type)
            ?? throw new NotSupportedException($"weight '{weight.Desc.Name}' ({weight.Desc.Type}) has no kernel format.");
        Launch(KernelCatalog.Dequantize(format), Elementwise(count), Bytes(weight), Bytes(scale), F32(result),
            KernelOperand.Of(dims), count);
    }

    private void ActQuantFp8(OpNode node, IDeviceBuffer x, IDeviceBuffer quantized, IDeviceBuffer scales)
    {
        int rows = Dim(x, 0), columns = Dim(x, 1);
        long blocks = (long)rows * (columns / 128);
        if (blocks == 0)
        {
            return;
        }

        bool pow2 = ((ActQuantAttributes)node.Attributes).PowerOfTwoScales;
        Launch(KernelCatalog.RowKernel(typeof(QuantKernels), nameof(QuantKernels.ActQuantFp8), RowGroup), PerRow(blocks),
            F32(x), Bytes(quantized), F32(scales), columns, pow2 ? 1 : 0);
    }
}
