using Accel.Types;

namespace Accel.Core.Tests.Types;

/// <summary>
/// <see cref="FiniteScan.FirstNonFinite"/> against a scalar search: lengths around the scan's
/// 1024-value blocks, NaN and both infinities at the edges and inside blocks, several culprits
/// (the first counts), and finite extremes that must pass (largest values, subnormals, -0).
/// </summary>
[TestFixture]
public sealed class FiniteScanTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        int[] lengths = [0, 1, 15, 1023, 1024, 1025, 2048, 5000];
        float[] culprits = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];
        int n = 0;
        foreach (int length in lengths)
        {
            yield return new TestCaseData(length, Array.Empty<int>(), 0f).SetName($"Finite_{length}");
            foreach (int at in new[] { 0, length / 2, 1023, 1024, length - 1 }.Where(a => a >= 0 && a < length).Distinct())
            {
                float bad = culprits[n++ % culprits.Length];
                yield return new TestCaseData(length, new[] { at }, bad).SetName($"One_{bad}_at_{at}_of_{length}");
                if (at + 3 < length)
                {
                    yield return new TestCaseData(length, new[] { at + 3, at }, bad).SetName($"Two_{bad}_first_at_{at}_of_{length}");
                }
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Finds_the_first_non_finite_value(int length, int[] positions, float bad)
    {
        var rng = new Random(length * 31 + positions.Sum());
        float[] extremes = [float.MaxValue, float.MinValue, float.Epsilon, -float.Epsilon, -0f, 1e-40f];
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = i % 97 == 5 ? extremes[i % extremes.Length] : (float)(rng.NextDouble() * 2 - 1) * 1e30f;
        }

        foreach (int p in positions)
        {
            values[p] = bad;
        }

        int expected = Array.FindIndex(values, v => !float.IsFinite(v));
        Assert.That(FiniteScan.FirstNonFinite(values), Is.EqualTo(expected));
        Assert.That(expected, Is.EqualTo(positions.Length == 0 ? -1 : positions.Min()), "the case places its culprits");
    }
}
