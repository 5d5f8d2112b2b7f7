using Accel.Backends.Cpu.Kernels;
using Accel.Backends.Cpu.Vnni;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>
/// The AVX-VNNI FP4 decode kernels (256-bit intrinsics; 512-bit emitted code, "wide") against a double-precision dot product of the exact weights: the
/// only error allowed is the activations' int8-term form (with three terms at most 1/32768 of the block's step
/// d = max|x|/127 per element, reached where x/d is a half-integer, times |w|; with two 1/256, with one 1/2) plus the fp32 rounding of each lane's
/// integer sum and of the accumulation. Each result must also match, to fp32 rounding, the dot product of the exact weights with the
/// activations rounded to their terms as the test rounds them, so a wrong term, scale or correction fails even where the bound is loose.
/// </summary>
public sealed unsafe class Fp4VnniKernelTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (bool wide in new[] { false, true })
        {
            foreach (int k in wide ? new[] { 128, 512, 2048 } : new[] { 64, 512, 2048 })
            {
                foreach (int rows in new[] { 1, 2 })
                {
                    foreach (var (lo, hi, x) in new[] { (120, 134, 1f), (1, 40, 1e20f), (200, 254, 1e-25f), (127, 127, 1e-3f) })
                    {
                        foreach (int terms in new[] { 3, 2, 1 })
                        {
                            foreach (bool permute in wide ? new[] { false, true } : [false])
                            {
                                yield return new TestCaseData(k, rows, lo, hi, x, wide, terms, permute)
                                    .SetName($"Fp4Vnni{(wide ? "512" : "")}{(permute ? "_Vpermb" : "")}_K{k}_R{rows}_S{lo}-{hi}_x{x:0e0}_T{terms}");
                            }
                        }
                    }
                }
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Matches_the_exact_weights_within_the_activation_terms(int k, int rows, int scaleLo, int scaleHi, float xScale, bool wide, int terms, bool permute)
    {
        Assume.That(Fp4VnniKernel.IsSupported, "this processor has no AVX-VNNI or no AVX-512");
        Assume.That(!wide || Fp4Vnni512Kernel.IsAvailable, $"the 512-bit kernel cannot run here: {Fp4Vnni512Kernel.WhyUnavailable}");
        Assume.That(!permute || Fp4Vnni512Kernel.CanPermute, "this processor has no AVX512_VBMI");
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
            Assert.That(Fp4VnniKernel.Quantize(xp, k, rows, k, qp, wide ? Fp4Vnni512Kernel.ChunkColumns : 64, terms), Is.True);
            var r = new WeightRows4
            {
                R0 = wp, R1 = wp + rowBytes, R2 = wp + 2 * rowBytes, R3 = wp + 3 * rowBytes,
                S0 = sp, S1 = sp + blocks, S2 = sp + 2 * blocks, S3 = sp + 3 * blocks,
            };
            long ld = Fp4VnniKernel.Bytes(1, k);
            if (wide) { Fp4Vnni512Kernel.Get(rows, rows == 1 ? 4096 : 0, terms, permute: permute).Run(qp, qp + ld, &r, k, tp); }
            else { Narrow(rows, terms, qp, ld, &r, k, tp); }
        }

        for (int m = 0; m < rows; m++)
        {
            for (int n = 0; n < 4; n++)
            {
                double sum = 0, rounded = 0, magnitude = 0, bound = 0;
                for (int c = 0; c < k; c++)
                {
                    int nibble = (w[n * rowBytes + c / 2] >> (c % 2 * 4)) & 0xF;
                    double wv = NumericFormats.E2M1ToF32(nibble) * (double)NumericFormats.UE8M0ToF32(s[n * blocks + c / 32]);
                    float max = Enumerable.Range(32 * (c / 32), 32).Max(j => Math.Abs(x[m * k + j]));
                    double step = max / 127.0;
                    double xq = Rounded(x[m * k + c], max / 127f, terms);
                    sum += x[m * k + c] * wv;
                    rounded += xq * wv;
                    magnitude += Math.Abs(x[m * k + c] * wv);
                    bound += Math.Abs(wv) * step * Fp4VnniKernel.TermError(terms);
                }

                Assert.That(tile[m * 4 + n], Is.EqualTo(sum).Within(bound * 1.01 + magnitude * 1e-6 + 1e-40), $"row {m}, weight row {n}");
                Assert.That(tile[m * 4 + n], Is.EqualTo(rounded).Within(magnitude * 1e-6 + 1e-40), $"row {m}, weight row {n}, against the rounded activations");
            }
        }
    }

    /// <summary>x as <paramref name="terms"/> int8 terms of step d hold it (nearest, ties to even; later terms clamped to ±127).</summary>
    private static double Rounded(float x, float d, int terms)
    {
        if (d == 0)
        {
            return 0;
        }

        double y = x * (1.0 / d), t1 = Math.Round(y), r2 = (y - t1) * 256;
        double t2 = terms < 2 ? 0 : Math.Clamp(Math.Round(r2), -127, 127);
        double t3 = terms < 3 ? 0 : Math.Clamp(Math.Round((r2 - t2) * 128), -127, 127);
        return d * (t1 + t2 / 256 + t3 / 32768);
    }

    private static void Narrow(int rows, int terms, byte* q, long ld, WeightRows4* r, int k, float* tile)
    {
        switch ((rows, terms))
        {
            case (1, 1): Fp4VnniKernel.Run<R1, R1>(q, ld, r, k, tile, 128); break;
            case (1, 2): Fp4VnniKernel.Run<R1, R2>(q, ld, r, k, tile, 128); break;
            case (1, 3): Fp4VnniKernel.Run<R1, R3>(q, ld, r, k, tile, 128); break;
            case (2, 1): Fp4VnniKernel.Run<R2, R1>(q, ld, r, k, tile, 0); break;
            case (2, 2): Fp4VnniKernel.Run<R2, R2>(q, ld, r, k, tile, 0); break;
            default: Fp4VnniKernel.Run<R2, R3>(q, ld, r, k, tile, 0); break;
        }
    }

    /// <summary>
    /// One call over several groups of four weight rows (pointers moved on by a step each group)
    /// gives, bit for bit, what one call per group gives.
    /// </summary>
    [TestCase(1, 1, 4)]
    [TestCase(1, 5, 4)]
    [TestCase(2, 3, 2)]
    [TestCase(2, 16, 4)]
    public void Groups_of_rows_in_one_call_match_one_call_per_group(int rows, int groups, int step)
    {
        // Four consecutive rows per group, step rows apart (2: groups overlap, as gate/up pairs do not, but the pointers move the same way).
        var (together, apart) = GroupsTogetherAndApart(rows, groups, groups * 31 + rows, step, step, g => g * step);
        Assert.That(together, Is.EqualTo(apart));
        Assert.That(together, Has.Some.Not.EqualTo(0f));
    }

    /// <summary>
    /// Groups that alternate between two places (as the gate and up groups of pair mode do): one call
    /// with two steps gives, bit for bit, what one call per group gives.
    /// </summary>
    [TestCase(1, 6)]
    [TestCase(2, 4)]
    [TestCase(1, 1)]
    public void Groups_alternating_between_two_places_match_one_call_per_group(int rows, int groups)
    {
        // Group 2i: rows 4i.. of the first place; group 2i+1: rows Second + 4i.. of the other.
        const int second = 40;
        var (together, apart) = GroupsTogetherAndApart(rows, groups, groups * 13 + rows, second, 4 - second, g => g % 2 * second + g / 2 * 4);
        Assert.That(together, Is.EqualTo(apart));
        Assert.That(together, Has.Some.Not.EqualTo(0f));
    }

    /// <summary>
    /// The two-group kernel (one activation row, quad layout) gives, bit for bit, what the one-group
    /// kernel gives: groups alternating between two places (gate and up) and evenly spaced groups,
    /// for each term count, with and without prefetching.
    /// </summary>
    [TestCase(2, 256, 3, 1024, true)]
    [TestCase(6, 512, 3, 0, true)]
    [TestCase(16, 256, 2, 2048, true)]
    [TestCase(4, 384, 1, 1024, true)]
    [TestCase(2, 256, 3, 1024, false)]
    [TestCase(10, 512, 2, 0, false)]
    public void Two_groups_side_by_side_match_one_group_at_a_time(int groups, int k, int terms, int prefetch, bool alternating)
    {
        Assume.That(Fp4Vnni512Kernel.IsAvailable, $"the 512-bit kernel cannot run here: {Fp4Vnni512Kernel.WhyUnavailable}");
        int rowBytes = k / 2, blocks = k / 32, second = 4 * groups; // rows of the second place (up) start here
        int weightRows = 8 * groups;
        var rng = new Random(groups * 7 + k + terms);
        byte[] w = new byte[weightRows * rowBytes];
        rng.NextBytes(w);
        byte[] s = [.. Enumerable.Range(0, weightRows * blocks).Select(_ => (byte)rng.Next(110, 140))];
        float[] x = [.. Enumerable.Range(0, k).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        byte[] q = new byte[Fp4VnniKernel.Bytes(1, k)];
        float[] dual = new float[groups * 4], single = new float[groups * 4];
        fixed (byte* wp = w, sp = s, qp = q)
        fixed (float* xp = x, dp = dual, op = single)
        {
            QuadLayout.Pack(wp, weightRows, rowBytes, QuadLayout.CodeChunk);
            QuadLayout.Pack(sp, weightRows, blocks, QuadLayout.ScaleChunk);
            Assert.That(Fp4VnniKernel.Quantize(xp, k, 1, k, qp, Fp4Vnni512Kernel.ChunkColumns, terms), Is.True);
            var first = new WeightRows4
            {
                R0 = wp, R1 = wp + 64, R2 = wp + 128, R3 = wp + 192,
                S0 = sp, S1 = sp + 4, S2 = sp + 8, S3 = sp + 12,
            };
            long group = 4L * rowBytes, groupScales = 4L * blocks;
            var (step, scaleStep, step2, scaleStep2) = alternating
                ? (second * rowBytes, second * blocks, group - second * rowBytes, groupScales - second * blocks)
                : (group, groupScales, group, groupScales);
            foreach (var (kernel, tile) in new[] { (Fp4Vnni512Kernel.Get(1, prefetch, terms, quads: true, dual: true), (nint)dp), (Fp4Vnni512Kernel.Get(1, prefetch, terms, quads: true), (nint)op) })
            {
                kernel.Run(qp, qp, &first, k, (float*)tile, groups, step, scaleStep, step2, scaleStep2);
            }
        }

        Assert.That(dual, Is.EqualTo(single));
        Assert.That(single.Distinct().Count(), Is.GreaterThan(groups * 2), "the groups' sums differ");
    }

    [Test]
    public void The_two_group_kernel_refuses_what_it_cannot_decode()
    {
        Assume.That(Fp4Vnni512Kernel.IsAvailable, $"the 512-bit kernel cannot run here: {Fp4Vnni512Kernel.WhyUnavailable}");
        Assert.That(() => Fp4Vnni512Kernel.Get(2, 0, quads: true, dual: true), Throws.ArgumentException.With.Message.Contains("one activation row"));
        Assert.That(() => Fp4Vnni512Kernel.Get(1, 0, quads: false, dual: true), Throws.ArgumentException.With.Message.Contains("quad-layout"));
        var kernel = Fp4Vnni512Kernel.Get(1, 0, quads: true, dual: true);
        Assert.That(() => RunThreeGroups(kernel), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("even number"));
    }

    private static void RunThreeGroups(Fp4Vnni512Kernel kernel)
    {
        var r = new WeightRows4();
        float* tile = stackalloc float[12];
        kernel.Run(null, null, &r, 128, tile, 3, 0, 0);
    }

    /// <summary>
    /// Random FP4 rows (enough for the groups' first rows, <paramref name="firstRow"/>) against
    /// <paramref name="rows"/> activation rows: one call whose pointers move on by
    /// <paramref name="step"/> rows after even groups and <paramref name="step2"/> after odd ones,
    /// and one call per group.
    /// </summary>
    private static (float[] Together, float[] Apart) GroupsTogetherAndApart(int rows, int groups, int seed, int step, int step2, Func<int, int> firstRow)
    {
        Assume.That(Fp4Vnni512Kernel.IsAvailable, $"the 512-bit kernel cannot run here: {Fp4Vnni512Kernel.WhyUnavailable}");
        const int k = 256, rowBytes = k / 2, blocks = k / 32;
        var rng = new Random(seed);
        int weightRows = Enumerable.Range(0, groups).Max(firstRow) + 4;
        byte[] w = new byte[weightRows * rowBytes];
        rng.NextBytes(w);
        byte[] s = [.. Enumerable.Range(0, weightRows * blocks).Select(_ => (byte)rng.Next(110, 140))];
        float[] x = [.. Enumerable.Range(0, rows * k).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        byte[] q = new byte[Fp4VnniKernel.Bytes(rows, k)];
        float[] together = new float[groups * rows * 4], apart = new float[groups * rows * 4];
        var kernel = Fp4Vnni512Kernel.Get(rows, 1024);
        fixed (byte* wp = w, sp = s, qp = q)
        fixed (float* xp = x, tp = together, ap = apart)
        {
            Assert.That(Fp4VnniKernel.Quantize(xp, k, rows, k, qp, Fp4Vnni512Kernel.ChunkColumns), Is.True);
            long ld = Fp4VnniKernel.Bytes(1, k);
            var first = Group(wp, sp, firstRow(0), rowBytes, blocks);
            kernel.Run(qp, qp + ld, &first, k, tp, groups, step * rowBytes, step * blocks, step2 * rowBytes, step2 * blocks);
            for (int g = 0; g < groups; g++)
            {
                var r = Group(wp, sp, firstRow(g), rowBytes, blocks);
                kernel.Run(qp, qp + ld, &r, k, ap + g * rows * 4);
            }
        }

        return (together, apart);
    }

    private static WeightRows4 Group(byte* w, byte* s, int row, int rowBytes, int blocks) => new()
    {
        R0 = w + row * rowBytes, R1 = w + (row + 1) * rowBytes, R2 = w + (row + 2) * rowBytes, R3 = w + (row + 3) * rowBytes,
        S0 = s + row * blocks, S1 = s + (row + 1) * blocks, S2 = s + (row + 2) * blocks, S3 = s + (row + 3) * blocks,
    };

    [Test]
    public void The_wide_kernel_refuses_a_row_that_is_not_whole_chunks()
    {
        Assume.That(Fp4Vnni512Kernel.IsAvailable, $"the 512-bit kernel cannot run here: {Fp4Vnni512Kernel.WhyUnavailable}");
        var kernel = Fp4Vnni512Kernel.Get(1, 0);
        Assert.That(() => RunOn192Columns(kernel), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("128-column chunks"));
        Assert.That(() => Fp4VnniKernel.Quantize(null, 192, 1, 192, null, 128),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("divide k"));
    }

    private static void RunOn192Columns(Fp4Vnni512Kernel kernel)
    {
        var r = new WeightRows4();
        float* tile = stackalloc float[8];
        kernel.Run(null, null, &r, 192, tile);
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
    public void Scale_codes_0_and_255_keep_the_fast_decoders_off(byte[] scales, bool keep) =>
        Assert.That(Accel.Backends.Cpu.CpuBackend.HasSlowScales(scales, WeightFormat.Fp4), Is.EqualTo(keep));
}
