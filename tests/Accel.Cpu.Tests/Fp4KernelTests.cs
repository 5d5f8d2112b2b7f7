using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Accel.Backends.Cpu.Kernels;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>
/// The block-at-a-time FP4 kernel against a double-precision dot product of the decoded weights,
/// for every row count, with scales across the UE8M0 range and every nibble code.
/// </summary>
public sealed unsafe class Fp4KernelTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (int k in new[] { 32, 64, 352, 1024 })
        {
            foreach (int rows in new[] { 1, 2, 3, 4, 5, 6 })
            {
                foreach (var (lo, hi) in new[] { (120, 134), (1, 20), (230, 250) })
                {
                    yield return new TestCaseData(k, rows, lo, hi, 17 * k + rows + lo).SetName($"Fp4_K{k}_R{rows}_S{lo}-{hi}");
                }
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Matches_the_decoded_double_sum(int k, int rows, int scaleLo, int scaleHi, int seed)
    {
        Assume.That(Avx512F.IsSupported, "the FP4 kernel needs AVX-512");
        var rng = new Random(seed);
        int rowBytes = k / 2, blocks = k / 32;
        byte[] w = new byte[4 * rowBytes];
        byte[] s = new byte[4 * blocks];
        rng.NextBytes(w);
        for (int i = 0; i < s.Length; i++) { s[i] = (byte)rng.Next(scaleLo, scaleHi + 1); }

        // Activations scaled so the products stay finite at the extreme scales (above 2^124 a decoded
        // weight itself is beyond fp32, for the kernel and the reference alike).
        float xScale = scaleLo > 200 ? 1e-30f : scaleHi < 30 ? 1e25f : 1f;
        float[] x = new float[rows * k];
        for (int i = 0; i < x.Length; i++) { x[i] = (float)(rng.NextDouble() * 2 - 1) * xScale; }

        float[] split = new float[rows * k];
        float[] tile = new float[24];
        fixed (byte* wp = w, sp = s)
        fixed (float* xp = x, xs = split, tp = tile)
        {
            Fp4Kernel.SplitRows(xp, k, rows, k, xs);
            var r = new WeightRows4
            {
                R0 = wp, R1 = wp + rowBytes, R2 = wp + 2 * rowBytes, R3 = wp + 3 * rowBytes,
                S0 = sp, S1 = sp + blocks, S2 = sp + 2 * blocks, S3 = sp + 3 * blocks,
            };
            Run(rows, xs, k, &r, tp);
        }

        for (int m = 0; m < rows; m++)
        {
            for (int n = 0; n < 4; n++)
            {
                double sum = 0, magnitude = 0;
                for (int c = 0; c < k; c++)
                {
                    int nibble = (w[n * rowBytes + c / 2] >> (c % 2 * 4)) & 0xF;
                    double wv = NumericFormats.E2M1ToF32(nibble) * (double)NumericFormats.UE8M0ToF32(s[n * blocks + c / 32]);
                    sum += x[m * k + c] * wv;
                    magnitude += Math.Abs(x[m * k + c] * wv);
                }

                // fp32 accumulation over k terms: a few ulps of the sum of magnitudes.
                double bound = magnitude * k * 1.2e-7 / 8 + 1e-44;
                Assert.That(tile[m * 4 + n], Is.EqualTo(sum).Within(bound), $"row {m}, weight row {n}");
            }
        }
    }

    [Test]
    public void Split_puts_even_columns_first_in_each_block()
    {
        Assume.That(Avx512F.IsSupported, "the FP4 kernel needs AVX-512");
        float[] x = Enumerable.Range(0, 64).Select(i => (float)i).ToArray();
        float[] d = new float[64];
        fixed (float* xp = x, dp = d)
        {
            Fp4Kernel.SplitRows(xp, 64, 1, 64, dp);
        }

        float[] expected = [.. Enumerable.Range(0, 2).SelectMany(b =>
            Enumerable.Range(0, 16).Select(j => (float)(32 * b + 2 * j)).Concat(Enumerable.Range(0, 16).Select(j => (float)(32 * b + 2 * j + 1))))];
        Assert.That(d, Is.EqualTo(expected));
    }

    private static void Run(int rows, float* x, int k, WeightRows4* r, float* tile)
    {
        switch (rows)
        {
            case 1: Fp4Kernel.Run<R1>(x, k, r, k, tile, 0); break;
            case 2: Fp4Kernel.Run<R2>(x, k, r, k, tile, 256); break;
            case 3: Fp4Kernel.Run<R3>(x, k, r, k, tile, 0); break;
            case 4: Fp4Kernel.Run<R4>(x, k, r, k, tile, 0); break;
            case 5: Fp4Kernel.Run<R5>(x, k, r, k, tile, 0); break;
            default: Fp4Kernel.Run<R6>(x, k, r, k, tile, 0); break;
        }
    }
}
