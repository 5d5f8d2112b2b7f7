using System.CommandLine;
using Accel.Backends;
using Accel.Conformance;
using Accel.Conformance.Reporting;
using Accel.Errors;
using Spectre.Console;

namespace Accel.Cli.Commands;

/// <summary>
/// <c>accel conformance</c>: runs the conformance cases on a device (or every usable device)
/// against the reference backend, prints OK / FAIL / NOT SUPPORTED per case, writes JSON and
/// Markdown reports and the support matrix, and exits with 1 when any case fails.
/// </summary>
public static class ConformanceCommand
{
    /// <summary>The device value that selects every usable device.</summary>
    public const string AllDevices = "all";

    /// <summary>Creates the verb.</summary>
    public static Command Create(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var device = new Option<string?>("--device")
        {
            Description = $"Device to test (see 'accel devices'), or '{AllDevices}' for every usable device. " +
                "Default: ACCEL_DEVICE, then Accel:Device, then auto.",
        };
        var filter = new Option<string>("--filter")
        {
            Description = "Cases: quick, standard (all but the slow large shapes), full, or part of a case id, e.g. " +
                "GroupedGemm, 'type=bf16', 'MoeLayer(*family=mixtral*' or a whole id.",
            DefaultValueFactory = _ => "standard",
        };
        var report = new Option<string?>("--report") { Description = "Folder to write conformance-<device>.json and .md into." };
        var matrix = new Option<string?>("--write-matrix")
        {
            Description = $"Folder to write the support matrix <device>.md into (with --device {AllDevices}: docs/ops unless given).",
        };
        var command = new Command("conformance", "Test a device against the reference backend, op by op and layer by layer.")
        {
            device, filter, report, matrix,
        };
        command.SetAction(r => CliErrors.Guard(() =>
            Run(context, r.GetValue(device), r.GetValue(filter)!, r.GetValue(report), r.GetValue(matrix))));
        return command;
    }

    private static int Run(CliContext context, string? deviceArg, string filter, string? reportDir, string? matrixDir)
    {
        var cases = CaseCatalog.Select(filter);
        using var services = context.CreateServices();
        var registry = services.Registry;
        bool all = deviceArg == AllDevices;
        string deviceId = all ? AllDevices : services.Runtime.Select(deviceArg).DeviceId;
        IReadOnlyList<DeviceDescriptor> targets = all ? registry.Devices : [Find(registry, deviceId)];
        if (all)
        {
            matrixDir ??= Path.Combine("docs", "ops");
        }

        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 200);
        }

        var reports = new List<ConformanceReport>();
        foreach (var d in targets)
        {
            if (!d.IsUsable)
            {
                AnsiConsole.MarkupLine($"[grey]{Markup.Escape(d.Id)}: skipped, not present: {Markup.Escape(d.Note)}[/]");
                continue;
            }

            IBackend backend;
            try
            {
                backend = registry.Open(d);
            }
            catch (BackendUnavailableException e) when (all)
            {
                AnsiConsole.MarkupLine($"[grey]{Markup.Escape(d.Id)}: skipped: {Markup.Escape(e.Message)}[/]");
                continue;
            }

            using (backend)
            {
                var results = RunCases(cases, backend);
                var r = ConformanceReport.Create(d, filter, results);
                reports.Add(r);
                Print(r);
                if (reportDir is not null)
                {
                    var (json, md) = ReportWriter.WriteAll(r, reportDir);
                    AnsiConsole.MarkupLine($"reports    {Markup.Escape(json)}, {Markup.Escape(md)}");
                }

                if (matrixDir is not null)
                {
                    string path = SupportMatrix.Write(d, SupportMatrix.Build(backend), matrixDir);
                    AnsiConsole.MarkupLine($"matrix     {Markup.Escape(path)}");
                }
            }
        }

        if (reports.Count == 0)
        {
            throw new BackendUnavailableException(deviceId, "No usable device to test; run 'accel devices' to see why each is absent.");
        }

        if (all)
        {
            AnsiConsole.MarkupLine($"all        {reports.Count} device(s), {reports.Sum(r => r.Total)} cases ran: " +
                $"{reports.Sum(r => r.Ok)} OK, {reports.Sum(r => r.Failed)} FAIL, {reports.Sum(r => r.NotSupported)} NOT SUPPORTED");
        }

        return reports.Any(r => r.Failed > 0) ? CliErrors.UserError : 0;
    }

    private static DeviceDescriptor Find(BackendRegistry registry, string id) =>
        registry.TryFind(id, out var d) && d is not null ? d : registry.Require(id);

    private static IReadOnlyList<CaseResult> RunCases(IReadOnlyList<ConformanceCase> cases, IBackend backend)
    {
        using var runner = new ConformanceRunner();
        IReadOnlyList<CaseResult> results = [];
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                string id = Markup.Escape(backend.Device.Id);
                var task = ctx.AddTask(id, maxValue: cases.Count);
                int failed = 0;
                results = runner.RunAll(cases, backend, (c, r) =>
                {
                    failed += r.Status == CaseStatus.Fail ? 1 : 0;
                    task.Description = failed == 0 ? id : $"{id} [red]{failed} FAIL[/]";
                    task.Increment(1);
                });
            });
        return results;
    }

    private static void Print(ConformanceReport report)
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("status", "case", "metric", "error", "tolerance", "detail");
        foreach (var r in report.Results)
        {
            string status = r.Status switch
            {
                CaseStatus.Ok => "[green]OK[/]",
                CaseStatus.Fail => "[red]FAIL[/]",
                _ => "[yellow]NOT SUPPORTED[/]",
            };
            string detail = r.Detail.Length > 120 ? r.Detail[..117] + "..." : r.Detail;
            table.AddRow(status, Markup.Escape(r.Id), Markup.Escape(r.Metric), ReportWriter.FormatError(r),
                ReportWriter.FormatTolerance(r), Markup.Escape(detail));
        }

        AnsiConsole.Write(table);
        string color = report.Failed > 0 ? "red" : report.NotSupported > 0 ? "yellow" : "green";
        AnsiConsole.MarkupLine($"[{color}]{Markup.Escape(report.Summary)}[/]");
    }
}
