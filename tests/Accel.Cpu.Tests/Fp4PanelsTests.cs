using System.Runtime.Intrinsics.X86;
using Accel.Backends.Cpu.Kernels;

namespace Accel.Cpu.Tests;

/// <summary>FP4 rows expanded into an fp32 panel hold exactly the values the shared dequantiser gives.</summary>
public sealed unsafe class Fp4PanelsTests
{
    [TestCase(32, 16, 0, 0)]
    [TestCase(1024, 48, 1, 16)]
    [TestCase(2048, 32, 2, 16)]
    [TestCase(96, 64, 0, 48)]
    public void Expanded_panels_equal_the_dequantised_rows(int k, int outDim, int expert, int n0)
    {
        Assume.That(Avx512F.IsSupported && Avx2.IsSupported, "the expansion needs AVX-512 and AVX2");
        const int experts = 3;
        var rng = new Random(k + outDim + n0);
        byte[] data = new byte[experts * outDim * k / 2];
        rng.NextBytes(data);
        byte[] scales = [.. Enumerable.Range(0, experts * outDim * k / 32).Select(_ => (byte)rng.Next(1, 255))];
        float[] panel = new float[k * 16];
        float[] row = new float[k];
        fixed (byte* d = data, s = scales)
        fixed (float* p = panel)
        {
            var w = new WeightMatrix(d, s, WeightFormat.Fp4, experts, outDim, k, exact: false, fastScales: true);
            Assert.That(Fp4Panels.Fits(k), Is.True);
            Fp4Panels.Expand(w, expert, n0, p);
            for (int j = 0; j < 16; j++)
            {
                w.DequantRow(expert, n0 + j, row);
                for (int c = 0; c < k; c++)
                {
                    Assert.That(BitConverter.SingleToInt32Bits(panel[c * 16 + j]), Is.EqualTo(BitConverter.SingleToInt32Bits(row[c])),
                        $"row {n0 + j}, column {c}");
                }
            }
        }
    }

    [TestCase(0)]
    [TestCase(48)]
    public void Rows_not_in_whole_blocks_do_not_fit(int k) => Assert.That(Fp4Panels.Fits(k), Is.False);
}
