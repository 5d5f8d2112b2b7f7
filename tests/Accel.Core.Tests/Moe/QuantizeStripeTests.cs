using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Moe;

/// <summary>
/// The vector paths of the synthetic generator and the fp4 quantiser against element-by-element
/// definitions: counter values from <see cref="CounterRandom.Bits"/>, fp4 codes from
/// <see cref="NumericFormats.F32ToE2M1"/> of value / scale.
/// </summary>
[TestFixture]
public sealed class QuantizeStripeTests
{
    [TestCase(0L, 1)]
    [TestCase(0L, 16)]
    [TestCase(1L, 16)]
    [TestCase(7L, 53)]
    [TestCase(1_000_001L, 300)]
    public void FillUniform_gives_each_element_its_own_hash(long start, int length)
    {
        ulong stream = CounterRandom.Stream(3, "w");
        var values = new float[length];
        CounterRandom.FillUniform(stream, start, values, 0.5f);
        for (int k = 0; k < length; k++)
        {
            long j = start + k;
            ulong h = CounterRandom.Bits(stream, j >> 1);
            uint bits = (j & 1) == 0 ? (uint)(h >> 40) : (uint)(h >> 8) & 0xFFFFFF;
            float expected = (bits * (1f / (1 << 23)) - 1f) * 0.5f;
            Assert.That(values[k], Is.EqualTo(expected), $"element {j}");
        }
    }

    [TestCase(3, 64)]
    [TestCase(2, 80)]
    [TestCase(5, 30)]
    public void Fp4Rows_matches_the_per_element_definition(int rows, int cols)
    {
        var rng = new Random(11);
        var w = new float[rows * cols];
        for (int k = 0; k < w.Length; k++)
        {
            // Spread over decades, with exact midpoints and zeros mixed in.
            w[k] = (k % 7) switch { 0 => 0f, 1 => -0f, 2 => 2.5f, 3 => -3.5f, _ => (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-3, 3))) };
        }

        int blocks = (cols + 31) / 32;
        var packed = new byte[rows * cols / 2];
        var scales = new byte[rows * blocks];
        Quantize.Fp4Rows(w, rows, cols, packed, scales);
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                int c0 = b * 32, c1 = Math.Min(cols, c0 + 32);
                float amax = 1e-12f;
                for (int c = c0; c < c1; c++) { amax = Math.Max(amax, Math.Abs(w[r * cols + c])); }
                byte u = NumericFormats.F32ToUE8M0(amax / 6f);
                Assert.That(scales[r * blocks + b], Is.EqualTo(u), $"scale of row {r} block {b}");
                for (int c = c0; c < c1; c++)
                {
                    int nibble = (c & 1) == 0 ? packed[(r * cols + c) / 2] & 0xF : packed[(r * cols + c) / 2] >> 4;
                    Assert.That(nibble, Is.EqualTo(NumericFormats.F32ToE2M1(w[r * cols + c] / NumericFormats.UE8M0ToF32(u))), $"[{r}, {c}]");
                }
            }
        }
    }

    [TestCase(130, 300, false)]
    [TestCase(128, 256, true)]
    [TestCase(5, 70, true)]
    public void Fp8Blocks_matches_the_per_element_definition(int rows, int cols, bool powerOfTwo)
    {
        var rng = new Random(12);
        var w = new float[rows * cols];
        for (int k = 0; k < w.Length; k++)
        {
            // Spread over decades (down into the e4m3 subnormals of each block), with zeros of both signs.
            w[k] = (k % 11) switch { 0 => 0f, 1 => -0f, _ => (float)((rng.NextDouble() * 2 - 1) * Math.Pow(10, rng.Next(-6, 2))) };
        }

        var (q, scale) = Quantize.Fp8Blocks(w, rows, cols, powerOfTwo);
        int bi = (cols + 127) / 128;
        var amax = new float[(rows + 127) / 128 * bi];
        for (int k = 0; k < w.Length; k++)
        {
            int b = k / cols / 128 * bi + k % cols / 128;
            amax[b] = Math.Max(amax[b], Math.Abs(w[k]));
        }

        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                int br = r / 128, bc = c / 128;
                float s = Math.Max(amax[br * bi + bc], 1e-12f) / 448f;
                s = powerOfTwo ? MathF.Pow(2, MathF.Ceiling(MathF.Log2(s))) : s;
                float stored = powerOfTwo ? NumericFormats.UE8M0ToF32(scale.Bytes[br * bi + bc]) : scale.AsSpan<float>()[br * bi + bc];
                Assert.That(stored, Is.EqualTo(s), $"scale of block ({br}, {bc})");
                Assert.That(q.Bytes[r * cols + c], Is.EqualTo(NumericFormats.F32ToE4M3(w[r * cols + c] / s)), $"[{r}, {c}]");
            }
        }
    }
}
