using Accel.Backends.Cpu;
using Accel.Graph;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>
/// The backend rewrites weights into its panel layout on first use; what goes in must still be
/// what comes out, and a later upload must start from the new bytes.
/// </summary>
public sealed class WeightLayoutTests
{
    [TestCase(DType.F32, 32, 64)]
    [TestCase(DType.F32, 48, 200)]
    [TestCase(DType.BF16, 64, 96)]
    [TestCase(DType.F32, 40, 64)]
    public void A_weight_downloads_as_uploaded_after_a_matrix_op_used_it(DType type, int outDim, int inDim)
    {
        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, inDim);
        var w = b.Weight("w", type, outDim, inDim);
        b.Output(b.RouterGemm("router", x, w));
        var node = b.Build().Nodes.Single();

        using var cpu = new CpuBackend(new CpuBackendOptions(Threads: 2));
        var rng = new Random(outDim * 1000 + inDim);
        var bytes = new byte[type.ByteSize((long)outDim * inDim)];
        rng.NextBytes(bytes);
        if (type == DType.F32)
        {
            // Finite values only, so the product is defined.
            var f = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
            for (int i = 0; i < f.Length; i++) { f[i] = (float)(rng.NextDouble() - 0.5); }
        }
        else
        {
            var h = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
            for (int i = 0; i < h.Length; i++) { h[i] = (ushort)(0x3C00 + rng.Next(0x200)); }
        }

        using var wb = cpu.Allocate(new TensorDesc("w", type, new Shape(outDim, inDim)));
        using var xb = cpu.Allocate(new TensorDesc("x", DType.F32, new Shape(3, inDim)));
        using var yb = cpu.Allocate(new TensorDesc("y", DType.F32, new Shape(3, outDim)));
        cpu.Upload(wb, bytes);
        cpu.Upload(xb, new byte[3 * inDim * 4]);
        cpu.Execute(node, [xb, wb], [yb]);

        var back = new byte[bytes.Length];
        cpu.Download(wb, back);
        Assert.That(back, Is.EqualTo(bytes), "a used weight must download in its stored layout");

        // A new upload replaces the weight: the next product must use the new values.
        var ones = HostTensor.FromF32(new Shape(3, inDim), Enumerable.Repeat(1f, 3 * inDim).ToArray());
        cpu.Upload(xb, ones.ReadOnlyBytes);
        Array.Clear(bytes);
        cpu.Upload(wb, bytes);
        cpu.Execute(node, [xb, wb], [yb]);
        var y = new byte[3 * outDim * 4];
        cpu.Download(yb, y);
        Assert.That(y.All(v => v == 0), Is.True, "the product after re-uploading zero weights must be zero");
    }
}

/// <summary>The four-row interleaved FP4 layout: where each row's chunks go, and back.</summary>
public sealed unsafe class QuadLayoutTests
{
    [TestCase(4, 64, 64)]
    [TestCase(8, 256, 64)]
    [TestCase(12, 32, 4)]
    [TestCase(16, 4, 4)]
    public void Rows_go_into_groups_and_come_back(int rows, int rowBytes, int chunk)
    {
        var data = new byte[rows * rowBytes];
        new Random(rows * 7 + rowBytes).NextBytes(data);
        var grouped = (byte[])data.Clone();
        var back = new byte[data.Length];
        fixed (byte* g = grouped)
        fixed (byte* b = back)
        {
            Accel.Backends.Cpu.Kernels.QuadLayout.Pack(g, rows, rowBytes, chunk);
            for (int n = 0; n < rows; n++)
            {
                // Row n's chunk c sits at its group, then c groups of four chunks on, then its place.
                for (int c = 0; c < rowBytes / chunk; c++)
                {
                    long at = n / 4 * 4L * rowBytes + (c * 4 + n % 4) * chunk;
                    Assert.That(grouped.AsSpan((int)at, chunk).ToArray(), Is.EqualTo(data.AsSpan(n * rowBytes + c * chunk, chunk).ToArray()),
                        $"row {n} chunk {c}");
                }

                var row = new byte[rowBytes];
                fixed (byte* r = row)
                {
                    Accel.Backends.Cpu.Kernels.QuadLayout.GatherRow(g, n, rowBytes, chunk, r);
                }

                Assert.That(row, Is.EqualTo(data.AsSpan(n * rowBytes, rowBytes).ToArray()), $"gathered row {n}");
            }

            Accel.Backends.Cpu.Kernels.QuadLayout.UnpackTo(g, b, rows, rowBytes, chunk);
            Assert.That(back, Is.EqualTo(data), "unpacked to a copy");
            Accel.Backends.Cpu.Kernels.QuadLayout.Unpack(g, rows, rowBytes, chunk);
            Assert.That(grouped, Is.EqualTo(data), "unpacked in place");
        }
    }

    [TestCase(6, 64, 64)]
    [TestCase(4, 96, 64)]
    public void Shapes_that_do_not_group_are_refused(int rows, int rowBytes, int chunk)
    {
        var data = new byte[rows * rowBytes];
        Assert.That(() =>
        {
            fixed (byte* p = data)
            {
                Accel.Backends.Cpu.Kernels.QuadLayout.Pack(p, rows, rowBytes, chunk);
            }
        }, Throws.ArgumentException.With.Message.Contains("cannot be grouped"));
    }

    /// <summary>
    /// An FP4 weight and its scales used by a grouped GEMM on the 512-bit VNNI kernel are held in
    /// the quad layout, download as uploaded, go back to rows when another op reads them as data,
    /// and start over on upload.
    /// </summary>
    [Test]
    public void An_fp4_weight_takes_the_quad_layout_and_never_shows_it()
    {
        const int experts = 2, outDim = 32, inDim = 256, rows = 3;
        using var cpu = new CpuBackend(new CpuBackendOptions(Threads: 2));
        Assume.That(cpu.Options.UsesFp4Quads, "the 512-bit VNNI kernel does not run here");
        var (wt, st) = Harness.Weight("fp4", experts, outDim, inDim, 5);
        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, inDim);
        var off = b.Input("off", DType.I32, experts + 1);
        var w = b.Weight("w", wt.Type, [.. wt.Shape]);
        var s = b.Weight("w.scale", st!.Type, [.. st.Shape]);
        b.Output(b.GroupedGemm("y", x, w, s, off));
        var node = b.Build().Nodes.Single();

        using var xb = cpu.Allocate(new TensorDesc("x", DType.F32, new Shape(rows, inDim)));
        using var ob = cpu.Allocate(new TensorDesc("off", DType.I32, new Shape(experts + 1)));
        using var wb = (CpuBuffer)cpu.Allocate(new TensorDesc("w", wt.Type, wt.Shape));
        using var sb = (CpuBuffer)cpu.Allocate(new TensorDesc("w.scale", st.Type, st.Shape));
        using var yb = cpu.Allocate(new TensorDesc("y", DType.F32, new Shape(rows, outDim)));
        cpu.Upload(xb, Harness.Random(new Shape(rows, inDim), 9).ReadOnlyBytes);
        cpu.Upload(ob, HostTensor.FromI32(new Shape(experts + 1), [0, 1, 3]).ReadOnlyBytes);
        cpu.Upload(wb, wt.ReadOnlyBytes);
        cpu.Upload(sb, st.ReadOnlyBytes);
        cpu.Execute(node, [xb, wb, sb, ob], [yb]);
        Assert.That((wb.QuadChunk, sb.QuadChunk), Is.EqualTo((64, 4)), "codes and scales in the quad layout");

        var back = new byte[wt.ReadOnlyBytes.Length];
        cpu.Download(wb, back);
        Assert.That(back, Is.EqualTo(wt.ReadOnlyBytes.ToArray()), "codes download as uploaded");
        back = new byte[st.ReadOnlyBytes.Length];
        cpu.Download(sb, back);
        Assert.That(back, Is.EqualTo(st.ReadOnlyBytes.ToArray()), "scales download as uploaded");

        cpu.Upload(wb, wt.ReadOnlyBytes);
        Assert.That((wb.QuadChunk, sb.QuadChunk), Is.EqualTo((0, 4)), "an upload starts the codes over");
        var first = new byte[rows * outDim * 4];
        cpu.Execute(node, [xb, wb, sb, ob], [yb]);
        cpu.Download(yb, first);
        Assert.That((wb.QuadChunk, sb.QuadChunk), Is.EqualTo((64, 4)), "both rewritten again together");
        var reference = Harness.RunReference(b.Build(), new Dictionary<string, HostTensor> { ["w"] = wt, ["w.scale"] = st },
            new Dictionary<string, HostTensor>
            {
                ["x"] = Harness.Random(new Shape(rows, inDim), 9),
                ["off"] = HostTensor.FromI32(new Shape(experts + 1), [0, 1, 3]),
            });
        Assert.That(Harness.RelativeError(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(first), reference["y"].AsSpan<float>()),
            Is.LessThan(1e-5), "the product after the layout went round");
    }
}

/// <summary>The exact row decoder over the backend's stored weight layouts.</summary>
public sealed unsafe class StoredRowTests
{
    /// <summary>
    /// The exact row decoder (the portable path's reader) gives every row of a weight in the panel
    /// layout (f32, bf16, fp8 with either scale) or in the four-row FP4 layout as it gives the
    /// row-major bytes.
    /// </summary>
    [TestCase("f32", 48, 64)]
    [TestCase("bf16", 32, 200)]
    [TestCase("fp8", 32, 256)]
    [TestCase("fp8-e8", 160, 130)]
    [TestCase("fp4", 32, 256)]
    [TestCase("fp4", 16, 8192)]
    [TestCase("fp4", 16, 32768)] // a row of more than 16 KB: staged in a rented array, not on the stack
    [TestCase("f32", 16, 4112)]
    public void Rows_decode_alike_in_every_stored_layout(string format, int outDim, int inDim)
    {
        const int experts = 2;
        var (wt, st) = Harness.Weight(format, experts, outDim, inDim, 21);
        var kind = Accel.Backends.Cpu.Kernels.WeightMatrix.FormatOf(wt.Type, st?.Type);
        byte[] rows = wt.ReadOnlyBytes.ToArray(), stored = [.. rows];
        byte[] scales = st?.ReadOnlyBytes.ToArray() ?? [], storedScales = [.. scales];
        bool quads = format == "fp4";
        long rowBytes = rows.Length / (experts * outDim), scaleRowBytes = scales.Length / (experts * outDim);
        var expected = new float[inDim];
        var actual = new float[inDim];
        fixed (byte* w = rows, s = scales, pw = stored, ps = storedScales)
        {
            if (quads)
            {
                Accel.Backends.Cpu.Kernels.QuadLayout.Pack(pw, experts * outDim, rowBytes, Accel.Backends.Cpu.Kernels.QuadLayout.CodeChunk);
                Accel.Backends.Cpu.Kernels.QuadLayout.Pack(ps, experts * outDim, scaleRowBytes, Accel.Backends.Cpu.Kernels.QuadLayout.ScaleChunk);
            }
            else
            {
                Accel.Backends.Cpu.Kernels.PanelLayout.Pack(pw, experts, outDim, inDim, Accel.Backends.Cpu.Kernels.PanelLayout.ElementSize(kind));
            }

            Assert.That(stored, Is.Not.EqualTo(rows), "the layout moved the bytes");
            var plain = new Accel.Backends.Cpu.Kernels.WeightMatrix(w, st is null ? null : s, kind, experts, outDim, inDim, exact: true);
            var laid = new Accel.Backends.Cpu.Kernels.WeightMatrix(pw, st is null ? null : ps, kind, experts, outDim, inDim, exact: true,
                panels: !quads, quads: quads);
            for (int e = 0; e < experts; e++)
            {
                for (int n = 0; n < outDim; n++)
                {
                    plain.DequantRow(e, n, expected);
                    laid.DequantRow(e, n, actual);
                    Assert.That(actual, Is.EqualTo(expected), $"expert {e}, row {n}");
                }
            }
        }
    }
}
