using Accel.Backends.Cpu.Bf16;

namespace Accel.Cpu.Tests;

/// <summary>The fp32 to (hi, lo) bf16 split of the BF16 kernel's activations.</summary>
public sealed unsafe class Bf16SplitTests
{
    /// <summary>The bf16 nearest to x by comparing the two neighbours in double, ties to an even last bit.</summary>
    private static ushort Nearest(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        ushort down = (ushort)(bits >> 16), up = (ushort)(down + 1);
        double dDown = Math.Abs(x - (double)F32(down)), dUp = Math.Abs(x - (double)F32(up));
        return dDown < dUp || (dDown == dUp && (down & 1) == 0) ? down : up;
    }

    private static float F32(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    private static float[] RandomRow(int seed, int k, double scale)
    {
        var rng = new Random(seed);
        var x = new float[k];
        for (int i = 0; i < k; i++)
        {
            // Magnitudes over six decades around the scale, both signs.
            x[i] = (float)((rng.NextDouble() * 2 - 1) * scale * Math.Pow(10, rng.NextDouble() * 6 - 3));
        }

        return x;
    }

    private static (ushort[] Hi, ushort[] Lo) Split(float[] x)
    {
        var hi = new ushort[x.Length];
        var lo = new ushort[x.Length];
        fixed (float* px = x)
        fixed (ushort* ph = hi, pl = lo)
        {
            Bf16Split.SplitRow(px, ph, pl, x.Length);
        }

        return (hi, lo);
    }

    [TestCase(1, 1024, 1.0)]
    [TestCase(2, 37, 1e-3)]
    [TestCase(3, 100, 1e3)]
    [TestCase(4, 5, 1e-20)]
    [TestCase(5, 4096, 1e20)]
    public void HiIsNearestBf16AndLoKeepsSixteenBits(int seed, int k, double scale)
    {
        float[] x = RandomRow(seed, k, scale);
        var (hi, lo) = Split(x);
        for (int i = 0; i < k; i++)
        {
            Assert.That(hi[i], Is.EqualTo(Nearest(x[i])), $"hi of x[{i}] = {x[i]:R}");
            float rest = x[i] - F32(hi[i]);
            Assert.That(lo[i], Is.EqualTo(Nearest(rest)), $"lo of x[{i}] = {x[i]:R}");
            double error = Math.Abs((double)x[i] - F32(hi[i]) - F32(lo[i]));
            Assert.That(error, Is.LessThanOrEqualTo(Math.Abs((double)x[i]) * Math.Pow(2, -16)), $"x[{i}] = {x[i]:R}");
        }
    }

    [Test]
    public void TiesRoundToEvenOnTheVectorAndScalarPaths()
    {
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 (even: 1); 1 + 3 * 2^-8 between
        // 1 + 2^-7 and 1 + 2^-6 (even: 1 + 2^-6); the value 33 places later goes through the
        // scalar tail.
        float[] x = new float[34];
        x[0] = x[32] = 1 + MathF.Pow(2, -8);
        x[1] = x[33] = 1 + 3 * MathF.Pow(2, -8);
        var (hi, lo) = Split(x);
        Assert.Multiple(() =>
        {
            foreach (int i in new[] { 0, 32 })
            {
                Assert.That(F32(hi[i]), Is.EqualTo(1f));
                Assert.That(F32(lo[i]), Is.EqualTo(MathF.Pow(2, -8)));
            }

            foreach (int i in new[] { 1, 33 })
            {
                Assert.That(F32(hi[i]), Is.EqualTo(1 + MathF.Pow(2, -6)));
                Assert.That(F32(lo[i]), Is.EqualTo(-MathF.Pow(2, -8)));
            }
        });
    }

    [Test]
    public void ZeroAndSignedZeroSplitToZeros()
    {
        var (hi, lo) = Split([0f, -0f]);
        Assert.That(new[] { F32(hi[0]) + F32(lo[0]), F32(hi[1]) + F32(lo[1]) }, Is.EqualTo(new[] { 0f, 0f }));
    }
}
