namespace Accel;

/// <summary>Error metrics used to compare a device's result with the reference.</summary>
public static class Metrics
{
    /// <summary>Norm-wise relative error ||a - b|| / ||b|| (0 when both are empty or zero; infinite on non-finite values).</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        if (actual.Length != expected.Length)
        {
            throw new ArgumentException($"Cannot compare {actual.Length} values with {expected.Length}.");
        }

        double diff = 0, norm = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            if (!float.IsFinite(actual[i]))
            {
                return double.PositiveInfinity;
            }

            double d = (double)actual[i] - expected[i];
            diff += d * d;
            norm += (double)expected[i] * expected[i];
        }

        return norm == 0 ? Math.Sqrt(diff) : Math.Sqrt(diff / norm);
    }

    /// <summary>Normalised mean squared error sum((a-b)^2) / sum(b^2), as ggml's test-backend-ops (infinite on non-finite values).</summary>
    public static double Nmse(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        double e = RelativeError(actual, expected);
        return e * e;
    }
}
