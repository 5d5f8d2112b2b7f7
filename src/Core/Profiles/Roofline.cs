using Accel.Types;

namespace Accel.Profiles;

/// <summary>
/// A roofline prediction for some work on a profile: the time the compute peak allows, the time the
/// memory bandwidth allows, and the larger of the two as the predicted time.
/// </summary>
/// <param name="DType">The dtype whose peak was used.</param>
/// <param name="Flops">Floating-point (or integer) operations.</param>
/// <param name="Bytes">Bytes moved to and from device memory.</param>
/// <param name="ComputeSeconds"><paramref name="Flops"/> / peak (0 when there are no operations).</param>
/// <param name="MemorySeconds"><paramref name="Bytes"/> / bandwidth (0 when no bytes move).</param>
public sealed record RooflineEstimate(
    DType DType,
    double Flops,
    double Bytes,
    double ComputeSeconds,
    double MemorySeconds)
{
    /// <summary>The predicted time: max(compute time, memory time).</summary>
    public double PredictedSeconds => Math.Max(ComputeSeconds, MemorySeconds);

    /// <summary>True when compute, not memory, bounds the prediction.</summary>
    public bool IsComputeBound => ComputeSeconds >= MemorySeconds;

    /// <summary>
    /// How close a measured time comes to the prediction, in percent (100 = at the roofline; less is
    /// slower than predicted).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="measuredSeconds"/> is not positive.</exception>
    public double PercentOfRoofline(double measuredSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(measuredSeconds);
        return PredictedSeconds / measuredSeconds * 100.0;
    }
}

/// <summary>Roofline predictions from a profile's peak throughput and memory bandwidth.</summary>
public static class Roofline
{
    /// <summary>
    /// Predicts the time for <paramref name="flops"/> operations on <paramref name="dtype"/> moving
    /// <paramref name="bytes"/>: max(flops / peak, bytes / bandwidth). Returns null where a figure the
    /// prediction needs is unknown or absent (a peak for the dtype when flops &gt; 0; the bandwidth
    /// when bytes &gt; 0).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="flops"/> or <paramref name="bytes"/> is negative.
    /// </exception>
    public static RooflineEstimate? Estimate(HardwareProfile profile, DType dtype, double flops, double bytes)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentOutOfRangeException.ThrowIfNegative(flops);
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);

        var compute = 0.0;
        if (flops > 0)
        {
            if (profile.PeakFor(dtype)?.BaseValue is not { } peak)
            {
                return null;
            }

            compute = flops / peak;
        }

        var memory = 0.0;
        if (bytes > 0)
        {
            if (profile.Memory.Bandwidth.BaseValue is not { } bandwidth)
            {
                return null;
            }

            memory = bytes / bandwidth;
        }

        return new RooflineEstimate(dtype, flops, bytes, compute, memory);
    }

    /// <summary>The predicted seconds (see <see cref="Estimate"/>), or null where a figure is unknown.</summary>
    public static double? PredictSeconds(HardwareProfile profile, DType dtype, double flops, double bytes) =>
        Estimate(profile, dtype, flops, bytes)?.PredictedSeconds;

    /// <summary>
    /// The percentage of the roofline a measured time reaches (predicted / measured × 100), or null
    /// where a figure is unknown.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A count is negative or <paramref name="measuredSeconds"/> is not positive.
    /// </exception>
    public static double? PercentOfRoofline(
        HardwareProfile profile, DType dtype, double flops, double bytes, double measuredSeconds)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(measuredSeconds);
        return Estimate(profile, dtype, flops, bytes)?.PercentOfRoofline(measuredSeconds);
    }
}
