using System.Runtime.Intrinsics.X86;
using Accel.Backends.Cpu.Kernels;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>
/// The one-multiply fp8 decoders (activations pre-multiplied by 2^90) against a double-precision
/// dot product of the decoded weights, and the guard that keeps activations out of that path when
/// the pre-multiplication could overflow.
/// </summary>
public sealed unsafe class Fp8KernelTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (int k in new[] { 128, 384, 1040 })
        {
            foreach (var (scale, x) in new[] { (1e-3f, 1f), (1e-6f, 1e-10f), (100f, 1e10f), (1f, 1e-30f) })
            {
                yield return new TestCaseData(k, scale, x).SetName($"Fp8X90_K{k}_s{scale:0e0}_x{x:0e0}");
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Matches_the_decoded_double_sum(int k, float blockScale, float xScale)
    {
        Assume.That(Avx512F.IsSupported, "the fp8 kernels need AVX-512");
        var rng = new Random(k + (int)MathF.Log2(blockScale));
        byte[] w = new byte[4 * k];
        rng.NextBytes(w);
        for (int i = 0; i < w.Length; i++) { w[i] = (w[i] & 0x7F) == 0x7F ? (byte)0x01 : w[i]; }

        int blocks = (k + 127) / 128;
        float[] s = [.. Enumerable.Range(0, blocks).Select(b => blockScale * (1 + b))];
        float[] x = [.. Enumerable.Range(0, k).Select(_ => (float)(rng.NextDouble() * 2 - 1) * xScale)];
        float[] scaled = new float[k];
        float[] tile = new float[24];
        fixed (byte* wp = w)
        fixed (float* sp = s, xp = x, xs = scaled, tp = tile)
        {
            Assert.That(GemmJob.ScaleRows(xp, k, 1, k, xs), Is.True);
            var r = new WeightRows4 { R0 = wp, R1 = wp + k, R2 = wp + 2 * k, R3 = wp + 3 * k, S0 = (byte*)sp, S1 = (byte*)sp, S2 = (byte*)sp, S3 = (byte*)sp };
            DotKernel.Run<Fp8F32ScaleX90Format, R1>(xs, k, &r, k, tp, 0);
        }

        for (int n = 0; n < 4; n++)
        {
            double sum = 0, magnitude = 0;
            for (int c = 0; c < k; c++)
            {
                double p = x[c] * (double)NumericFormats.E4M3ToF32(w[n * k + c]) * s[c / 128];
                sum += p;
                magnitude += Math.Abs(p);
            }

            Assert.That(tile[n], Is.EqualTo(sum).Within(magnitude * k * 1.2e-7 / 8 + 1e-44), $"weight row {n}");
        }
    }

    [TestCase(new byte[] { 127, 107, 200 }, false)]
    [TestCase(new byte[] { 127, 106, 200 }, true)]
    [TestCase(new byte[] { 127, 255 }, true)]
    public void Ue8m0_scales_below_2_pow_minus_20_keep_the_two_multiply_path(byte[] scales, bool small) =>
        Assert.That(Accel.Backends.Cpu.CpuBackend.HasSlowScales(scales, WeightFormat.Fp8E8Scale), Is.EqualTo(small));

    [TestCase(1e-3f, false)]
    [TestCase(9.5367431640625e-7f, false)]
    [TestCase(9e-7f, true)]
    [TestCase(0f, true)]
    [TestCase(float.NaN, true)]
    [TestCase(float.PositiveInfinity, true)]
    public void F32_scales_below_2_pow_minus_20_keep_the_two_multiply_path(float s, bool small)
    {
        float[] scales = [1f, s, 2f];
        Assert.That(Accel.Backends.Cpu.CpuBackend.HasSlowScales(System.Runtime.InteropServices.MemoryMarshal.AsBytes(scales.AsSpan()),
            WeightFormat.Fp8F32Scale), Is.EqualTo(small));
    }

    [TestCase(1e20f)]
    [TestCase(float.PositiveInfinity)]
    [TestCase(float.NaN)]
    public void Activations_that_could_overflow_stay_on_the_two_multiply_path(float big)
    {
        float[] x = [.. Enumerable.Repeat(0.5f, 40)];
        x[37] = big;
        float[] d = new float[40];
        fixed (float* xp = x, dp = d)
        {
            Assert.That(GemmJob.ScaleRows(xp, 40, 1, 40, dp), Is.False);
            Assert.That(GemmJob.ScaleRows(xp, 40, 1, 36, dp), Is.True, "the large value is outside the rows' columns");
        }
    }
}
