using Accel.Backends.Cpu.Bf16;
using Accel.Backends.Cpu.Kernels;

namespace Accel.Cpu.Tests;

/// <summary>
/// The AVX512-BF16 kernel against double-precision dot products of the fp32 activations and the
/// exact bf16 weights (runs only where the processor has AVX512-BF16).
/// </summary>
/// <remarks>
/// Error bound, relative to S = sum |x * w|: the split leaves |x - hi - lo| ≤ 2^-16 |x|, so at most
/// 2^-16 S; bf16 products are exact in fp32, and each output lane is a chain of n fp32 additions
/// (K/16 per accumulator with the hi/lo accumulators of 1-2 rows, K/8 with 3-4 rows, plus 5 for
/// combining and the horizontal sum), at most γ(n) = n u / (1 - n u), u = 2^-24, of S (Higham's
/// bound). n = K/8 + 8 covers both. A kernel that dropped the lo part would be off by about
/// 2^-10 S on the all-positive rows, far above the bound.
/// </remarks>
public sealed unsafe class Bf16KernelTests
{
    private static void RequireBf16()
    {
        if (!Bf16Runtime.IsAvailable)
        {
            Assert.Ignore($"AVX512-BF16 kernels not available: {Bf16Runtime.WhyUnavailable}");
        }
    }

    /// <summary>Weights (4 rows of k) and activations (rows of k) with their split.</summary>
    private sealed class Problem(int rows, int k)
    {
        public readonly int Rows = rows, K = k;
        public readonly ushort[] W = new ushort[4 * k];
        public readonly float[] X = new float[rows * k];
        public readonly ushort[] Hi = new ushort[rows * k], Lo = new ushort[rows * k];

        public static Problem Random(int rows, int k, int seed, double scale, bool positive)
        {
            var p = new Problem(rows, k);
            var rng = new Random(seed);
            double Draw() => positive ? rng.NextDouble() + 0.01 : rng.NextDouble() * 2 - 1;
            for (int i = 0; i < p.W.Length; i++) { p.W[i] = Bf16(0.05 * Draw()); }
            for (int i = 0; i < p.X.Length; i++) { p.X[i] = (float)(scale * Draw()); }
            p.SplitRows();
            return p;
        }

        public void SplitRows()
        {
            fixed (float* x = X)
            fixed (ushort* hi = Hi, lo = Lo)
            {
                for (int r = 0; r < Rows; r++) { Bf16Split.SplitRow(x + r * K, hi + r * K, lo + r * K, K); }
            }
        }

        public float[] Run(int prefetch = 0)
        {
            var tile = new float[Rows * 4];
            fixed (ushort* w = W, hi = Hi, lo = Lo)
            fixed (float* t = tile)
            {
                var rows = new WeightRows4
                {
                    R0 = (byte*)w, R1 = (byte*)(w + K), R2 = (byte*)(w + 2 * K), R3 = (byte*)(w + 3 * K),
                };
                if (Rows == 1) { Bf16Kernel.Dot4(t, hi, lo, &rows, K, prefetch); }
                else { Bf16Kernel.Get(Rows, prefetch).Dot(hi, lo, K, &rows, K, t); }
            }

            return tile;
        }

        /// <summary>The exact dot product of x (or of hi + lo) and w, and the sum of |products|.</summary>
        public (double Sum, double Magnitude) Reference(int r, int n, bool split)
        {
            double sum = 0, mag = 0;
            for (int i = 0; i < K; i++)
            {
                double x = split ? (double)F32(Hi[r * K + i]) + F32(Lo[r * K + i]) : X[r * K + i];
                double t = x * F32(W[n * K + i]);
                sum += t;
                mag += Math.Abs(t);
            }

            return (sum, mag);
        }
    }

    private static ushort Bf16(double v) => Accel.Types.NumericFormats.F32ToBF16((float)v);

    private static float F32(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    private static double Gamma(int n) => n * Math.Pow(2, -24) / (1 - n * Math.Pow(2, -24));

    private static IEnumerable<TestCaseData> AccuracyCases()
    {
        int seed = 11;
        foreach (int k in new[] { 512, 1024, 4096 })
        {
            foreach (double scale in new[] { 1e-3, 1.0, 1e3 })
            {
                foreach (int rows in new[] { 1, 2, 3, 4 })
                {
                    yield return new TestCaseData(rows, k, scale, seed++, false);
                }

                yield return new TestCaseData(1, k, scale, seed++, true);
                yield return new TestCaseData(4, k, scale, seed++, true);
            }
        }
    }

    [TestCaseSource(nameof(AccuracyCases))]
    public void MatchesDoubleDotProductsWithinTheSplitAndAccumulationBound(
        int rows, int k, double scale, int seed, bool positive)
    {
        RequireBf16();
        var p = Problem.Random(rows, k, seed, scale, positive);
        float[] tile = p.Run(prefetch: seed % 2 == 0 ? 0 : 512);
        double bound = Math.Pow(2, -16) + Gamma(k / 8 + 8), worst = 0;
        for (int r = 0; r < rows; r++)
        {
            for (int n = 0; n < 4; n++)
            {
                var (sum, mag) = p.Reference(r, n, split: false);
                double relative = Math.Abs(tile[r * 4 + n] - sum) / mag;
                worst = Math.Max(worst, relative);
                Assert.That(relative, Is.LessThanOrEqualTo(bound),
                    $"row {r}, weight row {n}: {tile[r * 4 + n]:R} vs {sum:R}");
            }
        }

        TestContext.Out.WriteLine($"rows {rows} k {k} scale {scale:E0} {(positive ? "positive" : "signed")}: " +
            $"worst |error| / sum|x*w| = {worst:E2} (bound {bound:E2})");
    }

    [TestCase(1, 1024)]
    [TestCase(2, 64)]
    [TestCase(3, 1024)]
    [TestCase(4, 992)]
    [TestCase(4, 1000)]
    [TestCase(1, 45)]
    [TestCase(1, 96)]
    [TestCase(1, 2080)]
    public void SmallIntegerPartsGiveExactSums(int rows, int k)
    {
        // hi in [-3, 3], lo = m * 2^-8 with m in [-3, 3], w in [-3, 3]: every partial sum is a
        // multiple of 2^-8 below 2^14 in magnitude, so fp32 holds it exactly; distinct values per
        // row and weight row catch any mixed-up pointer or output slot.
        RequireBf16();
        var p = new Problem(rows, k);
        var rng = new Random(rows * 1000 + k);
        for (int i = 0; i < p.W.Length; i++) { p.W[i] = Bf16(rng.Next(-3, 4)); }
        for (int i = 0; i < p.Hi.Length; i++)
        {
            p.Hi[i] = Bf16(rng.Next(-3, 4));
            p.Lo[i] = Bf16(rng.Next(-3, 4) / 256.0);
        }

        float[] tile = p.Run();
        for (int r = 0; r < rows; r++)
        {
            for (int n = 0; n < 4; n++)
            {
                double exact = p.Reference(r, n, split: true).Sum;
                Assert.That(tile[r * 4 + n], Is.EqualTo(exact), $"row {r}, weight row {n}");
            }
        }
    }

    [TestCase(1, 0)]
    [TestCase(2, 5)]
    [TestCase(1, 31)]
    [TestCase(3, 33)]
    [TestCase(4, 4095)]
    public void TailsPastWholeBlocksAreSummedToo(int rows, int k)
    {
        RequireBf16();
        var p = Problem.Random(rows, k, 7 + k, 1.0, positive: false);
        float[] tile = p.Run();
        for (int r = 0; r < rows; r++)
        {
            for (int n = 0; n < 4; n++)
            {
                var (sum, mag) = p.Reference(r, n, split: false);
                double bound = (Math.Pow(2, -16) + Gamma(k / 8 + 8 + 32)) * mag;
                Assert.That(Math.Abs(tile[r * 4 + n] - sum), Is.LessThanOrEqualTo(bound), $"row {r}, weight row {n}");
            }
        }
    }

    [Test]
    public void DisabledKernelsThrowInsteadOfRunning()
    {
        var p = Problem.Random(1, 64, 3, 1.0, positive: false);
        Bf16Kernel? made = Bf16Runtime.IsAvailable ? Bf16Kernel.Get(1) : null;
        Bf16Runtime.Disabled = true;
        try
        {
            Assert.That(Bf16Runtime.IsAvailable, Is.False);
            Assert.That(Bf16Runtime.WhyUnavailable, Is.Not.Null);
            var e = Assert.Throws<InvalidOperationException>(() => p.Run());
            Assert.That(e!.Message, Does.Contain("AVX512-BF16"));
            if (made is not null)
            {
                Assert.Throws<InvalidOperationException>(() =>
                {
                    var args = new Bf16Args { Blocks = 1 };
                    made.Run(&args);
                }, "a kernel made before disabling");
            }
        }
        finally
        {
            Bf16Runtime.Disabled = false;
        }
    }

    [Test]
    public void RejectsRowCountsAndPrefetchDistancesItHasNoCodeFor()
    {
        RequireBf16();
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Bf16Kernel.Get(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => Bf16Kernel.Get(5));
            Assert.Throws<ArgumentOutOfRangeException>(() => Bf16Kernel.Get(1, 100));
            Assert.Throws<ArgumentOutOfRangeException>(() => Bf16Kernel.Get(1, -64));
        });
    }
}
