using System.Globalization;

namespace Accel.Cli.Bench;

/// <summary>One figure of a roofline and where it came from.</summary>
/// <param name="Value">The figure: GFLOP/s for a peak, GB/s for a bandwidth.</param>
/// <param name="Source">Where it came from, for the report (the flag, the profile and its citation, or the probe).</param>
public sealed record RooflineFigure(double Value, string Source);

/// <summary>
/// The roofline <c>accel bench</c> compares its times with: a compute peak and a memory bandwidth,
/// each with its source, and an optional note on how to read the comparison.
/// </summary>
/// <param name="Peak">The compute peak, GFLOP/s.</param>
/// <param name="Bandwidth">The memory bandwidth, GB/s.</param>
/// <param name="Note">A caveat for the reader (e.g. that the device is emulated), or null.</param>
public sealed record BenchRoofline(RooflineFigure Peak, RooflineFigure Bandwidth, string? Note = null)
{
    /// <summary>The compute peak, GFLOP/s.</summary>
    public double PeakGflops => Peak.Value;

    /// <summary>The memory bandwidth, GB/s.</summary>
    public double BandwidthGbps => Bandwidth.Value;

    /// <summary>A roofline of two figures from one source.</summary>
    public static BenchRoofline Of(double peakGflops, double bandwidthGbps, string source) =>
        new(new RooflineFigure(peakGflops, source), new RooflineFigure(bandwidthGbps, source));

    /// <summary>The time in ms the roofline allows for <paramref name="flops"/> operations reading <paramref name="bytes"/> bytes: the larger of the two bounds.</summary>
    public double PredictedMs(double flops, double bytes) =>
        Math.Max(flops / (PeakGflops * 1e9), bytes / (BandwidthGbps * 1e9)) * 1e3;

    /// <summary>E.g. <c>312 GFLOP/s (measured ...), 33.9 GB/s (measured ...)</c>, then the note.</summary>
    public override string ToString() =>
        $"{Format(PeakGflops)} GFLOP/s ({Peak.Source}), {Format(BandwidthGbps)} GB/s ({Bandwidth.Source})" +
        (Note is null ? "" : $"; {Note}");

    /// <summary>A figure with three significant digits at most and no exponent, e.g. <c>312</c>, <c>33.9</c>, <c>49000</c>.</summary>
    public static string Format(double value) =>
        value >= 100 ? value.ToString("0", CultureInfo.InvariantCulture) : value.ToString("G3", CultureInfo.InvariantCulture);
}
