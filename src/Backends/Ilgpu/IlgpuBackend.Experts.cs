using Accel.Graph;
using Accel.Kernels;
using Accel.Types;
using ILGPU;
using ILGPU.Runtime;

namespace Accel.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    private void GroupedGemm(IlgpuBuffer rows, IlgpuBuffer weight, IlgpuBuffer? scale, IlgpuBuffer offsets, IlgpuBuffer y)
    {
        var a = new GemmArgs { Rows = rows.Dim(0), In = rows.Dim(1), Out = weight.Dim(1), Experts = weight.Dim(0) };
        Gemm(rows.F32, weight, scale, offsets.I32, y.F32, a);
    }

    private void RouterGemm(IlgpuBuffer x, IlgpuBuffer weight, IlgpuBuffer z)
    {
        FloatFormat(weight);
        var a = new GemmArgs { Rows = x.Dim(0), In = x.Dim(1), Out = weight.Dim(0), Experts = 1, Dense = 1 };
        Gemm(x.F32, weight, null, EmptyI32, z.F32, a);
    }

    /// <summary>One launch of the tiled GEMM over every expert (or a dense projection when a.Dense is 1).</summary>
    private void Gemm(ArrayView<float> x, IlgpuBuffer weight, IlgpuBuffer? scale, ArrayView<int> offsets,
        ArrayView<float> y, GemmArgs a)
    {
        if ((long)a.Rows * a.Out == 0)
        {
            return;
        }

        var format = KernelCatalog.FormatOf(weight.Desc.Type, scale?.Desc.Type)
            ?? throw new NotSupportedException($"weight '{weight.Desc.Name}' ({weight.Desc.Type}) has no kernel format.");
        var method = KernelCatalog.GroupedGemm(GemmTile, format);
        var config = new KernelConfig(
            new Index2D(checked((int)CeilDiv(a.Rows, GemmTile.M)), checked((int)CeilDiv(a.Out, GemmTile.N))),
            new Index2D(GemmTile.Threads, 1));
        var s = scale?.Bytes ?? EmptyBytes;
        switch (KernelCatalog.TypesOf(format).Element)
        {
            case var t when t == typeof(float):
                LaunchGemm(method, config, x, weight.F32, s, offsets, y, a);
                break;
            case var t when t == typeof(ushort):
                LaunchGemm(method, config, x, weight.As<ushort>(), s, offsets, y, a);
                break;
            default:
                LaunchGemm(method, config, x, weight.Bytes, s, offsets, y, a);
                break;
        }
    }

    private void LaunchGemm<TElem>(System.Reflection.MethodInfo method, KernelConfig config, ArrayView<float> x,
        ArrayView<TElem> weight, ArrayView<byte> scale, ArrayView<int> offsets, ArrayView<float> y, GemmArgs a)
        where TElem : unmanaged =>
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<TElem>, ArrayView<byte>, ArrayView<int>,
            ArrayView<float>, GemmArgs>>(method)(Stream, config, x, weight, scale, offsets, y, a);

    private void SwiGlu(OpNode node, IlgpuBuffer gate, IlgpuBuffer up, IlgpuBuffer? weights, IlgpuBuffer? posToToken,
        IlgpuBuffer? posToSlot, IlgpuBuffer result)
    {
        int count = Count(node, result.Desc.Shape.Elements);
        var limit = ((SwiGluAttributes)node.Attributes).Limit;
        // As the reference: an empty weight tensor (T = 0) means no row weight, even on padding rows.
        if (weights is { Desc.ByteSize: 0 })
        {
            weights = null;
        }

        LaunchSwiGlu(gate.F32, up.F32, result.F32, gate.Dim(1), count, limit,
            weights?.F32, posToToken?.I32 ?? EmptyI32, posToSlot?.I32 ?? EmptyI32, weights?.Dim(1) ?? 0);
    }

    private void LaunchSwiGlu(ArrayView<float> gate, ArrayView<float> up, ArrayView<float> result, int width, int count,
        float? limit, ArrayView<float>? weights, ArrayView<int> posToToken, ArrayView<int> posToSlot, int k)
    {
        if (count == 0)
        {
            return;
        }

        var method = KernelCatalog.Plain(typeof(ActivationKernels), nameof(ActivationKernels.SwiGlu));
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int,
            float, int, ArrayView<float>, ArrayView<int>, ArrayView<int>, int>>(method)(
            Stream, Elementwise(count), gate, up, result, width, count, limit is null ? 0 : 1, limit ?? 0f,
            weights is null ? 0 : 1, weights ?? EmptyF32, posToToken, posToSlot, k);
    }

    private void SharedExpert(OpNode node, IlgpuBuffer?[] i, IlgpuBuffer z)
    {
        IlgpuBuffer x = i[0]!, gateW = i[1]!, upW = i[3]!, downW = i[5]!;
        int tokens = x.Dim(0), width = x.Dim(1), inner = gateW.Dim(0);
        if (tokens == 0)
        {
            return;
        }

        int hidden = Count(node, (long)tokens * inner);
        var h1 = Scratch("shared-expert.gate", DType.F32, hidden).F32;
        var h3 = Scratch("shared-expert.up", DType.F32, hidden).F32;
        var up = new GemmArgs { Rows = tokens, In = width, Out = inner, Experts = 1, Dense = 1 };
        Gemm(x.F32, gateW, i[2], EmptyI32, h1, up);
        Gemm(x.F32, upW, i[4], EmptyI32, h3, up);
        LaunchSwiGlu(h1, h3, h1, inner, hidden, ((SwiGluAttributes)node.Attributes).Limit, null, EmptyI32, EmptyI32, 0);
        var down = new GemmArgs { Rows = tokens, In = inner, Out = downW.Dim(0), Experts = 1, Dense = 1 };
        Gemm(h1, downW, i[6], EmptyI32, z.F32, down);
        if (i[7] is not { } gate || width == 0)
        {
            return;
        }

        var format = FloatFormat(gate);
        var method = KernelCatalog.ExpertGate(RowGroup, format);
        if (format == WeightFormat.F32)
        {
            Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>>(method)(
                Stream, PerRow(tokens), x.F32, gate.F32, z.F32, width, down.Out);
        }
        else
        {
            Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<ushort>, ArrayView<float>, int, int>>(method)(
                Stream, PerRow(tokens), x.F32, gate.As<ushort>(), z.F32, width, down.Out);
        }
    }

    private void Dequantize(IlgpuBuffer weight, IlgpuBuffer scale, IlgpuBuffer result)
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
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<byte>, ArrayView<byte>, ArrayView<float>, WeightDims, long>>(
            KernelCatalog.Dequantize(format))(Stream, Elementwise(count), weight.Bytes, scale.Bytes, result.F32, dims, count);
    }

    private void ActQuantFp8(OpNode node, IlgpuBuffer x, IlgpuBuffer quantized, IlgpuBuffer scales)
    {
        int rows = x.Dim(0), columns = x.Dim(1);
        long blocks = (long)rows * (columns / 128);
        if (blocks == 0)
        {
            return;
        }

        bool pow2 = ((ActQuantAttributes)node.Attributes).PowerOfTwoScales;
        var method = KernelCatalog.RowKernel(typeof(QuantKernels), nameof(QuantKernels.ActQuantFp8), RowGroup);
        Kernel<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<byte>, ArrayView<float>, int, int>>(method)(
            Stream, PerRow(blocks), x.F32, quantized.Bytes, scales.F32, columns, pow2 ? 1 : 0);
    }

    /// <summary>An empty byte view for absent scales (never read by the kernels).</summary>
    private ArrayView<byte> EmptyBytes => _status.View.BaseView.Cast<byte>().SubView(0, 0);
}
