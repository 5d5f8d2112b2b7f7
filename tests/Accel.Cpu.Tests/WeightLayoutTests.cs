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
