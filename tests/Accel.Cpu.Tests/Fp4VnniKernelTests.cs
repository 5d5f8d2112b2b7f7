using Accel.Backends.Cpu.Kernels;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>
/// The AVX-VNNI FP4 decode kernel against a double-precision dot product of the exact weights: the
/// only error allowed is the activations' three-term int8 form (at most 1/32768 of the block's step
/// d = max|x|/127 per element, reached where x/d is a half-integer, times |w|) plus the fp32 rounding of each lane's integer sum and of the accumulation.
/// </summary>
public sealed unsafe class Fp4VnniKernelTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (int k in new[] { 64, 512, 2048 })
        {
            foreach (int rows in new[] { 1, 2 })
            {
                foreach (var (lo, hi, x) in new[] { (120, 134, 1f), (1, 40, 1e20f), (200, 254, 1e-25f), (127, 127, 1e-3f) })
                {
                    yield return new TestCaseData(k, rows, lo, hi, x).SetName($"Fp4Vnni_K{k}_R{rows}_S{lo}-{hi}_x{x:0e0}");
                }
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Matches_the_exact_weights_within_the_activation_terms(int k, int rows, int scaleLo, int scaleHi, float xScale)
    {
        Assume.That(Fp4VnniKernel.IsSupported, "this processor has no AVX-VNNI or no AVX-512");
        var rng = new Random(k * 7 + rows + scaleLo);
        int rowBytes = k / 2, blocks = k / 32;
        byte[] w = new byte[4 * rowBytes];
        rng.NextBytes(w);
        byte[] s = [.. Enumerable.Range(0, 4 * blocks).Select(_ => (byte)rng.Next(scaleLo, scaleHi + 1))];

        // Heavy-tailed activations with zero blocks and exact zeros, so the block steps differ widely.
        float[] x = new float[rows * k];
        for (int i = 0; i < x.Length; i++)
        {
            // Every seventh block holds half-integer multiples of its step (the clamped-term case).
            double g = rng.NextDouble() * 2 - 1;
            x[i] = (i / 32) % 5 == 3 ? 0f
                : (i / 32) % 7 == 2 ? (i % 32 == 0 ? 127f : rng.Next(-127, 127) + 0.5f) * xScale
                : (float)(g * g * g * xScale);
        }

        byte[] q = new byte[Fp4VnniKernel.Bytes(rows, k)];
        float[] tile = new float[24];
        fixed (byte* wp = w, sp = s, qp = q)
        fixed (float* xp = x, tp = tile)
        {
            Assert.That(Fp4VnniKernel.Quantize(xp, k, rows, k, qp), Is.True);
            var r = new WeightRows4
            {
                R0 = wp, R1 = wp + rowBytes, R2 = wp + 2 * rowBytes, R3 = wp + 3 * rowBytes,
                S0 = sp, S1 = sp + blocks, S2 = sp + 2 * blocks, S3 = sp + 3 * blocks,
            };
            if (rows == 1) { Fp4VnniKernel.Run<R1>(qp, Fp4VnniKernel.Bytes(1, k), &r, k, tp, 128); }
            else { Fp4VnniKernel.Run<R2>(qp, Fp4VnniKernel.Bytes(1, k), &r, k, tp, 0); }
        }

        for (int m = 0; m < rows; m++)
        {
            for (int n = 0; n < 4; n++)
            {
                double sum = 0, magnitude = 0, bound = 0;
                for (int c = 0; c < k; c++)
                {
                    int nibble = (w[n * rowBytes + c / 2] >> (c % 2 * 4)) & 0xF;
                    double wv = NumericFormats.E2M1ToF32(nibble) * (double)NumericFormats.UE8M0ToF32(s[n * blocks + c / 32]);
                    double step = Enumerable.Range(32 * (c / 32), 32).Max(j => Math.Abs(x[m * k + j])) / 127.0;
                    sum += x[m * k + c] * wv;
                    magnitude += Math.Abs(x[m * k + c] * wv);
                    bound += Math.Abs(wv) * step / 32768;
                }

                Assert.That(tile[m * 4 + n], Is.EqualTo(sum).Within(bound * 1.01 + magnitude * 1e-6 + 1e-40), $"row {m}, weight row {n}");
            }
        }
    }

    [TestCase(float.PositiveInfinity)]
    [TestCase(float.NegativeInfinity)]
    [TestCase(float.NaN)]
    public void A_non_finite_activation_leaves_the_kernel_unused(float bad)
    {
        float[] x = new float[128];
        x[70] = bad;
        byte[] q = new byte[Fp4VnniKernel.Bytes(1, 128)];
        fixed (float* xp = x)
        fixed (byte* qp = q)
        {
            Assert.That(Fp4VnniKernel.Quantize(xp, 128, 1, 128, qp), Is.False);
        }
    }

    [TestCase(new byte[] { 1, 127, 254 }, false)]
    [TestCase(new byte[] { 0, 127 }, true)]
    [TestCase(new byte[] { 127, 255 }, true)]
    public void Scale_codes_0_and_255_keep_the_fma_kernel(byte[] scales, bool keep) =>
        Assert.That(Accel.Backends.Cpu.CpuBackend.HasSlowScales(scales, WeightFormat.Fp4), Is.EqualTo(keep));
}
