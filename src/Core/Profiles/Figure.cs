namespace Accel.Profiles;

/// <summary>
/// One hardware figure as a profile file states it: a value (or null where it is unknown), its
/// unit, and where the number comes from. <c>{"value": 1600, "unit": "GB/s", "source": "..."}</c>.
/// </summary>
/// <param name="Kind">What the figure measures; decides the accepted units.</param>
/// <param name="Value">The value in <paramref name="Unit"/>, or null where the figure is unknown.</param>
/// <param name="Unit">The unit as written in the file (e.g. <c>GiB</c>, <c>TFLOP/s</c>).</param>
/// <param name="Source">
/// A citation, <c>estimate: why</c>, or (for a null value) <c>unknown: why</c> / <c>n/a: why</c>.
/// </param>
public sealed record Figure(FigureKind Kind, double? Value, string Unit, string Source)
{
    /// <summary>True when the value is known.</summary>
    public bool IsKnown => Value.HasValue;

    /// <summary>
    /// The value in base units: bytes, bytes per second, operations per second, hertz, or the plain
    /// count; null where unknown.
    /// </summary>
    public double? BaseValue => Value * FigureUnits.Scale(Kind, Unit);

    /// <summary>The base value rounded to a whole number (e.g. bytes); null where unknown.</summary>
    public long? BaseValueAsInt64 => BaseValue is { } v ? (long)Math.Round(v) : null;

    /// <summary>The value and unit as text, e.g. <c>64 GiB</c> or <c>unknown</c>.</summary>
    public override string ToString() =>
        Value is { } v ? $"{v.ToString(System.Globalization.CultureInfo.InvariantCulture)} {Unit}" : "unknown";
}

/// <summary>The units each <see cref="FigureKind"/> accepts and their scale to base units.</summary>
public static class FigureUnits
{
    private static readonly Dictionary<string, double> BytesUnits = new(StringComparer.Ordinal)
    {
        ["B"] = 1,
        ["KB"] = 1e3,
        ["MB"] = 1e6,
        ["GB"] = 1e9,
        ["TB"] = 1e12,
        ["KiB"] = 1024d,
        ["MiB"] = 1024d * 1024,
        ["GiB"] = 1024d * 1024 * 1024,
        ["TiB"] = 1024d * 1024 * 1024 * 1024,
    };

    private static readonly Dictionary<string, double> BandwidthUnits = new(StringComparer.Ordinal)
    {
        ["MB/s"] = 1e6,
        ["GB/s"] = 1e9,
        ["GiB/s"] = 1024d * 1024 * 1024,
        ["TB/s"] = 1e12,
    };

    private static readonly Dictionary<string, double> ThroughputUnits = new(StringComparer.Ordinal)
    {
        ["GFLOP/s"] = 1e9,
        ["TFLOP/s"] = 1e12,
        ["PFLOP/s"] = 1e15,
        ["GOPS"] = 1e9,
        ["TOPS"] = 1e12,
    };

    private static readonly Dictionary<string, double> ClockUnits = new(StringComparer.Ordinal)
    {
        ["MHz"] = 1e6,
        ["GHz"] = 1e9,
    };

    /// <summary>True when <paramref name="unit"/> is accepted for <paramref name="kind"/>.</summary>
    public static bool IsValid(FigureKind kind, string unit) =>
        kind == FigureKind.Count ? !string.IsNullOrWhiteSpace(unit) : Table(kind).ContainsKey(unit);

    /// <summary>The factor from <paramref name="unit"/> to base units (1 for counts and unknown units).</summary>
    public static double Scale(FigureKind kind, string unit) =>
        kind != FigureKind.Count && Table(kind).TryGetValue(unit, out var scale) ? scale : 1;

    /// <summary>The accepted units for <paramref name="kind"/>, comma-separated, for messages.</summary>
    public static string Describe(FigureKind kind) =>
        kind == FigureKind.Count ? "any non-empty word naming what is counted" : string.Join(", ", Table(kind).Keys);

    private static Dictionary<string, double> Table(FigureKind kind) => kind switch
    {
        FigureKind.Bytes => BytesUnits,
        FigureKind.BytesPerSecond => BandwidthUnits,
        FigureKind.OperationsPerSecond => ThroughputUnits,
        FigureKind.Hertz => ClockUnits,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Counts have no unit table."),
    };
}
