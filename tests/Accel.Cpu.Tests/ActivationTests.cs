using System.Runtime.Intrinsics;
using Accel.Backends.Cpu.Kernels;

namespace Accel.Cpu.Tests;

/// <summary>The vector exponential of the SwiGLU epilogue against double-precision exp.</summary>
public sealed class ActivationTests
{
    [TestCase(-20f, 20f)]
    [TestCase(-87f, 88f)]
    [TestCase(-1e-3f, 1e-3f)]
    public void Exp_is_within_a_few_ulp(float from, float to)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            Assert.Ignore("no AVX-512 here");
        }

        var rng = new Random(7);
        double worst = 0;
        var lanes = new float[16];
        for (int i = 0; i < 20000; i++)
        {
            for (int j = 0; j < 16; j++) { lanes[j] = from + (float)rng.NextDouble() * (to - from); }

            var e = Activation.Exp(Vector512.Create(lanes));
            for (int j = 0; j < 16; j++)
            {
                double exact = Math.Exp(lanes[j]);
                worst = Math.Max(worst, Math.Abs(e[j] - exact) / exact);
            }
        }

        Assert.That(worst, Is.LessThan(3e-7), $"worst relative error {worst:E2}");
    }

    [TestCase(float.PositiveInfinity, float.PositiveInfinity)]
    [TestCase(float.NegativeInfinity, 0f)]
    [TestCase(100f, float.PositiveInfinity)]
    [TestCase(-200f, 0f)]
    [TestCase(0f, 1f)]
    public void Exp_edges(float x, float expected)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            Assert.Ignore("no AVX-512 here");
        }

        Assert.That(Activation.Exp(Vector512.Create(x))[0], Is.EqualTo(expected));
    }

    [Test]
    public void Exp_keeps_nan()
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            Assert.Ignore("no AVX-512 here");
        }

        Assert.That(float.IsNaN(Activation.Exp(Vector512.Create(float.NaN))[3]), Is.True);
    }
}
