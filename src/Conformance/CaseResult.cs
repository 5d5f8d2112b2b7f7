namespace Accel.Conformance;

/// <summary>The outcome of a case on a device.</summary>
public enum CaseStatus
{
    /// <summary>Every check passed.</summary>
    Ok,
    /// <summary>A check failed, a guard was overwritten, or the device threw.</summary>
    Fail,
    /// <summary>The device reports a node of the case unsupported; counted neither as passed nor failed.</summary>
    NotSupported,
}

/// <summary>One check of one case.</summary>
/// <param name="Value">The compared output.</param>
/// <param name="Metric">The metric (<c>nmse</c>, <c>exact</c>, <c>sets</c>, ...).</param>
/// <param name="Error">Its value.</param>
/// <param name="Tolerance">The largest value that passes.</param>
/// <param name="Passed">Within the tolerance.</param>
/// <param name="Detail">The first problem, or a note.</param>
public sealed record CheckResult(string Value, string Metric, double Error, double Tolerance, bool Passed, string Detail);

/// <summary>The result of a case: status, the headline error and tolerance, and every check.</summary>
/// <param name="Id">The case id.</param>
/// <param name="Name">The op name, or <c>MoeLayer</c>.</param>
/// <param name="Type">The dtype label.</param>
/// <param name="Status">OK, FAIL or NOT SUPPORTED.</param>
/// <param name="Metric">The metric of the headline check (the failing one, or the one nearest its tolerance).</param>
/// <param name="Error">The headline error (null when nothing was compared).</param>
/// <param name="Tolerance">The headline tolerance.</param>
/// <param name="Detail">Why it failed or is not supported, or a note.</param>
public sealed record CaseResult(string Id, string Name, string Type, CaseStatus Status, string Metric, double? Error,
    double? Tolerance, string Detail)
{
    /// <summary>Every check (empty when the case did not get that far).</summary>
    public IReadOnlyList<CheckResult> Checks { get; init; } = [];

    /// <summary>Tokens left out of routing-dependent checks (selection gap within the margin).</summary>
    public int SkippedTokens { get; init; }

    /// <summary>Input generations used (more than one when routing ties were regenerated).</summary>
    public int Attempts { get; init; } = 1;

    /// <summary>Wall time of the case (generation, both runs and checks).</summary>
    public double Milliseconds { get; init; }

    /// <summary>The status as printed: OK, FAIL, NOT SUPPORTED.</summary>
    public string StatusText => Text(Status);

    /// <summary>The printed form of a status.</summary>
    public static string Text(CaseStatus status) => status switch
    {
        CaseStatus.Ok => "OK",
        CaseStatus.Fail => "FAIL",
        _ => "NOT SUPPORTED",
    };

    /// <summary>A failure before any comparison.</summary>
    public static CaseResult Failed(ConformanceCase c, string detail, string metric = "-") =>
        new(c.Id, c.Name, c.Type, CaseStatus.Fail, metric, null, null, detail);

    /// <summary>Not supported by the device.</summary>
    public static CaseResult Unsupported(ConformanceCase c, string reason) =>
        new(c.Id, c.Name, c.Type, CaseStatus.NotSupported, "-", null, null, reason);

    /// <summary>Combines the checks of a case that ran on both sides.</summary>
    public static CaseResult From(ConformanceCase c, IReadOnlyList<CheckResult> checks, int skipped, int attempts)
    {
        static double Ratio(CheckResult r) => r.Error <= r.Tolerance ? (r.Tolerance == 0 ? 0 : r.Error / r.Tolerance)
            : r.Tolerance == 0 ? double.PositiveInfinity : r.Error / r.Tolerance;
        var failed = checks.FirstOrDefault(r => !r.Passed);
        var head = failed ?? checks.OrderByDescending(Ratio).First();
        string detail = failed is not null
            ? $"{failed.Value}: {failed.Detail}"
            : string.Join("; ", checks.Where(r => r.Detail.Length > 0).Select(r => $"{r.Value}: {r.Detail}").Distinct());
        return new CaseResult(c.Id, c.Name, c.Type, failed is null ? CaseStatus.Ok : CaseStatus.Fail, head.Metric, head.Error,
            head.Tolerance, detail)
        {
            Checks = checks,
            SkippedTokens = skipped,
            Attempts = attempts,
        };
    }
}
