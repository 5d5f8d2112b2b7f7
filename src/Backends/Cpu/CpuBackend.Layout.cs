using Accel.Backends.Cpu.Kernels;
using Accel.Graph;

namespace Accel.Backends.Cpu;

/// <summary>
/// Weight layout: the first time a weight reaches a matrix op, an eligible weight (fp32, bf16 or
/// fp8, output size a multiple of 16, AVX-512 path) is rewritten in place into the panel layout
/// the panel kernel streams (<see cref="PanelLayout"/>), and an FP4 weight that the 512-bit VNNI
/// kernel decodes, with its scales, into the four-row interleaved layout (<see cref="QuadLayout"/>);
/// no second copy is kept. Downloads return the row-major bytes, an upload resets the layout, and
/// a node that reads the buffer anywhere but a weight input gets it back row-major first, so the
/// layout never shows.
/// </summary>
public sealed unsafe partial class CpuBackend
{
    /// <summary>
    /// A weight buffer (and scale) as the kernels address it; rank-2 weights are one expert. With
    /// <paramref name="pack"/> an eligible weight is rewritten into panels first; without, it is
    /// taken in whatever layout it has (for readers that only decode rows).
    /// </summary>
    private WeightMatrix Matrix(CpuBuffer w, CpuBuffer? scale, bool pack = true)
    {
        var format = WeightMatrix.FormatOf(w.Desc.Type, scale?.Desc.Type);
        var (experts, outDim, inDim) = Dims(w);
        if (pack && !w.Panels && !_portable && PanelLayout.Eligible(format, outDim))
        {
            PanelLayout.Pack(w.Pointer, experts, outDim, inDim, PanelLayout.ElementSize(format));
            w.Panels = true;
        }

        bool fast = ScalesAllowFastDecoders(scale, format);
        if (scale is not null && (w.QuadChunk != 0) != (scale.QuadChunk != 0))
        {
            // One of the pair was read as data (and put back row-major): the other follows.
            ToRows(w);
            ToRows(scale);
        }

        if (pack && scale is not null && w.QuadChunk == 0 && !_portable && fast && _quads
            && Vnni.Fp4Vnni512Kernel.Fits(inDim) && QuadLayout.Eligible(format, outDim, inDim))
        {
            ToQuads(w, QuadLayout.CodeChunk);
            ToQuads(scale, QuadLayout.ScaleChunk);
        }

        return new WeightMatrix(w.Pointer, scale is null ? null : scale.Pointer, format,
            experts, outDim, inDim, NeedsExact(w, format), w.Panels, fast, w.QuadChunk != 0);
    }

    /// <summary>Rewrites a row-major FP4 code or scale buffer into the quad layout with chunks of <paramref name="chunk"/> bytes.</summary>
    private static void ToQuads(CpuBuffer b, int chunk)
    {
        var (rows, rowBytes) = QuadRows(b);
        QuadLayout.Pack(b.Pointer, rows, rowBytes, chunk);
        b.QuadChunk = chunk;
    }

    /// <summary>Rows (experts x output columns) of a weight or scale buffer and the bytes of each.</summary>
    private static (long Rows, long RowBytes) QuadRows(CpuBuffer b)
    {
        var (experts, outDim, _) = Dims(b);
        long rows = (long)experts * outDim;
        return (rows, b.Length / rows);
    }

    /// <summary>
    /// Puts every input that this node reads as plain data (not as a weight) back into row-major
    /// layout, and marks the outputs row-major (the node overwrites them).
    /// </summary>
    private static void PrepareLayouts(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i] is CpuBuffer b && (b.Panels || b.QuadChunk != 0) && !ReadAsWeight(OpSchemas.Of(node.Kind), i))
            {
                ToRows(b);
            }
        }

        for (int i = 0; i < outputs.Count; i++)
        {
            ((CpuBuffer)outputs[i]).ForgetLayout();
        }
    }

    /// <summary>Whether input <paramref name="i"/> is a weight or a weight's scales (read through <see cref="Matrix"/>, which knows the layouts).</summary>
    private static bool ReadAsWeight(OpSchema schema, int i) =>
        schema.IsWeight(i) || (i < schema.Inputs.Length && schema.Inputs[i].Role == InputRole.Scale);

    /// <summary>Puts a buffer in either rewritten layout back into row-major layout (nothing when it is row-major).</summary>
    private static void ToRows(CpuBuffer b)
    {
        if (b.Panels)
        {
            var (experts, outDim, inDim) = Dims(b);
            PanelLayout.Unpack(b.Pointer, experts, outDim, inDim, ElementBytes(b));
            b.Panels = false;
        }

        if (b.QuadChunk != 0)
        {
            var (rows, rowBytes) = QuadRows(b);
            QuadLayout.Unpack(b.Pointer, rows, rowBytes, b.QuadChunk);
            b.QuadChunk = 0;
        }
    }

    /// <summary>Experts, output and input sizes of a weight [E, out, in] or [out, in] (one expert).</summary>
    private static (int Experts, int Out, int In) Dims(CpuBuffer w)
    {
        int lead = w.Desc.Shape.Rank == 3 ? 1 : 0;
        return (lead == 1 ? w.Dim(0) : 1, w.Dim(lead), w.Dim(lead + 1));
    }

    /// <summary>Bytes per element of a weight buffer (the panel formats store whole bytes per element).</summary>
    private static int ElementBytes(CpuBuffer w)
    {
        var (experts, outDim, inDim) = Dims(w);
        return (int)(w.Length / ((long)experts * outDim * inDim));
    }

    /// <summary>Copies a buffer's bytes out in row-major layout.</summary>
    private static void CopyOut(CpuBuffer b, Span<byte> destination)
    {
        if (!b.Panels && b.QuadChunk == 0)
        {
            b.Bytes.CopyTo(destination);
            return;
        }

        fixed (byte* d = destination)
        {
            if (b.Panels)
            {
                var (experts, outDim, inDim) = Dims(b);
                PanelLayout.UnpackTo(b.Pointer, d, experts, outDim, inDim, ElementBytes(b));
            }
            else
            {
                var (rows, rowBytes) = QuadRows(b);
                QuadLayout.UnpackTo(b.Pointer, d, rows, rowBytes, b.QuadChunk);
            }
        }
    }
}
