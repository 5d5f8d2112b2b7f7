using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Accel.Conformance.Reporting;

/// <summary>
/// Writes a <see cref="ConformanceReport"/> as JSON (for tools) and Markdown (to attach to a bug
/// report or a vendor review): device, date, machine, counts, failures first, then every case.
/// </summary>
public static class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>Writes <c>conformance-&lt;device&gt;.json</c> and <c>.md</c> into <paramref name="directory"/>; returns both paths.</summary>
    public static (string Json, string Markdown) WriteAll(ConformanceReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        string stem = Path.Combine(directory, $"conformance-{ConformanceReport.FileStem(report.Device)}");
        File.WriteAllText(stem + ".json", ToJson(report));
        File.WriteAllText(stem + ".md", ToMarkdown(report));
        return (stem + ".json", stem + ".md");
    }

    /// <summary>The report as indented JSON (infinite errors as "Infinity").</summary>
    public static string ToJson(ConformanceReport report)
    {
        var doc = new
        {
            report.Device,
            report.DeviceName,
            report.Backend,
            report.DeviceNote,
            report.Filter,
            Date = report.Date.ToString("O", CultureInfo.InvariantCulture),
            report.Machine,
            Counts = new { report.Total, report.Ok, Fail = report.Failed, report.NotSupported, report.Seconds },
            Results = report.Results.Select(r => new
            {
                r.Id,
                r.Name,
                r.Type,
                Status = r.StatusText,
                r.Metric,
                r.Error,
                r.Tolerance,
                r.Detail,
                r.SkippedTokens,
                r.Attempts,
                r.Milliseconds,
                r.Checks,
            }),
        };
        return JsonSerializer.Serialize(doc, Json);
    }

    /// <summary>The report as Markdown.</summary>
    public static string ToMarkdown(ConformanceReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# Accel conformance report: {report.Device}").AppendLine();
        sb.AppendLine("| | |").AppendLine("|---|---|");
        sb.AppendLine($"| device | `{report.Device}`: {Cell(report.DeviceName)} (provider `{report.Backend}`) |");
        if (report.DeviceNote.Length > 0)
        {
            sb.AppendLine($"| device note | {Cell(report.DeviceNote)} |");
        }

        sb.AppendLine($"| date | {report.Date.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC |");
        sb.AppendLine($"| machine | {Cell(report.Machine.ToString())} |");
        sb.AppendLine($"| accel | {Cell(report.Machine.AccelVersion)} |");
        sb.AppendLine($"| cases | filter `{report.Filter}`: {report.Total} ran in {report.Seconds:F1} s |");
        sb.AppendLine($"| result | **{report.Ok} OK, {report.Failed} FAIL, {report.NotSupported} NOT SUPPORTED** |");
        sb.AppendLine("| oracle | the reference backend (fp32 values, fp64 accumulation); see docs/conformance.md for metrics and tolerances |");
        sb.AppendLine();
        sb.AppendLine($"Rerun one case with `accel conformance --device {report.Device} --filter \"<case id>\"`; the id alone reproduces its inputs.");
        sb.AppendLine();

        var failures = report.Results.Where(r => r.Status == CaseStatus.Fail).ToList();
        if (failures.Count > 0)
        {
            sb.AppendLine("## Failures").AppendLine();
            foreach (var r in failures)
            {
                sb.AppendLine($"- `{r.Id}`: {Cell(r.Metric)} {FormatError(r)} (tolerance {FormatTolerance(r)}). {Cell(r.Detail)}");
            }

            sb.AppendLine();
        }

        sb.AppendLine("## Results").AppendLine();
        sb.AppendLine("| status | case | metric | error | tolerance | ms | detail |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in report.Results)
        {
            sb.AppendLine($"| {r.StatusText} | `{r.Id}` | {Cell(r.Metric)} | {FormatError(r)} | {FormatTolerance(r)} | " +
                $"{r.Milliseconds.ToString("F0", CultureInfo.InvariantCulture)} | {Cell(r.Detail)} |");
        }

        return sb.ToString();
    }

    /// <summary>The headline error as printed (<c>-</c> when nothing was compared).</summary>
    public static string FormatError(CaseResult r) => Format(r.Error, r.Metric);

    /// <summary>The headline tolerance as printed.</summary>
    public static string FormatTolerance(CaseResult r) => Format(r.Tolerance, r.Metric);

    private static string Format(double? value, string metric) => value switch
    {
        null => "-",
        double v when double.IsPositiveInfinity(v) => "inf",
        double v when metric is "exact" or "sets" or "permutation" => v.ToString("F0", CultureInfo.InvariantCulture),
        0.0 => "0",
        double v => v.ToString("0.00e+00", CultureInfo.InvariantCulture),
    };

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace('\n', ' ');
}
