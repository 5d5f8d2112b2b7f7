using System.Text.Json;
using Accel.Backends.Reference;
using Accel.Conformance.Reporting;
using Accel.Graph;

namespace Accel.Conformance.Tests;

public sealed class ReportTests
{
    private string _dir = "";

    [SetUp]
    public void MakeFolder() => _dir = Directory.CreateTempSubdirectory("accel-conformance-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_dir, recursive: true);

    private static ConformanceReport FailingReport()
    {
        using var reference = new ReferenceBackend();
        using var defective = new PerturbingBackend(reference, OpKind.Add, OpKind.TopK);
        using var runner = new ConformanceRunner();
        var cases = CaseCatalog.Quick.Where(c => c.Op is OpKind.Add or OpKind.TopK or OpKind.RmsNorm).ToList();
        return ConformanceReport.Create(reference.Device, "quick", runner.RunAll(cases, defective));
    }

    [Test]
    public void The_json_report_holds_device_counts_and_every_case()
    {
        var report = FailingReport();
        var (json, md) = ReportWriter.WriteAll(report, _dir);
        Assert.That(Path.GetFileName(json), Is.EqualTo("conformance-reference.json"));
        Assert.That(File.Exists(md), Is.True);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.That(root.GetProperty("device").GetString(), Is.EqualTo("reference"));
        Assert.That(root.GetProperty("counts").GetProperty("total").GetInt32(), Is.EqualTo(3));
        Assert.That(root.GetProperty("counts").GetProperty("ok").GetInt32(), Is.EqualTo(1));
        Assert.That(root.GetProperty("counts").GetProperty("fail").GetInt32(), Is.EqualTo(1));
        Assert.That(root.GetProperty("counts").GetProperty("notSupported").GetInt32(), Is.EqualTo(1));
        var statuses = root.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("status").GetString());
        Assert.That(statuses, Is.EquivalentTo(new[] { "OK", "FAIL", "NOT SUPPORTED" }));
        Assert.That(root.GetProperty("machine").GetProperty("processors").GetInt32(), Is.EqualTo(Environment.ProcessorCount));
    }

    [Test]
    public void The_markdown_report_lists_failures_first_then_every_case()
    {
        var report = FailingReport();
        string md = ReportWriter.ToMarkdown(report);
        Assert.That(md, Does.StartWith("# Accel conformance report: reference"));
        Assert.That(md, Does.Contain("**1 OK, 1 FAIL, 1 NOT SUPPORTED**"));
        Assert.That(md.IndexOf("## Failures", StringComparison.Ordinal), Is.LessThan(md.IndexOf("## Results", StringComparison.Ordinal)));
        foreach (var r in report.Results)
        {
            Assert.That(md, Does.Contain($"`{r.Id}`"));
        }

        Assert.That(md, Does.Contain("planted: TopK is switched off"));
        Assert.That(report.Summary, Does.Match(@"reference: 3 cases ran in [\d.]+ s: 1 OK, 1 FAIL, 1 NOT SUPPORTED"));
    }

    [Test]
    public void The_support_matrix_says_what_is_not_supported_and_why()
    {
        using var reference = new ReferenceBackend();
        using var partial = new PerturbingBackend(reference, null, OpKind.DequantFp4);
        var rows = SupportMatrix.Build(partial, CaseCatalog.Quick);
        Assert.That(rows.Single(r => r.Name == "DequantFp4").Answer, Is.EqualTo("no"));
        Assert.That(rows.Single(r => r.Name == "DequantFp4").Reason, Does.Contain("planted"));
        Assert.That(rows.Where(r => r.Name != "DequantFp4").Select(r => r.Answer), Has.All.EqualTo("yes"));
        Assert.That(rows.Select(r => r.Name).First(), Is.EqualTo(nameof(OpKind.RmsNorm)), "ops in op-set order");
        string path = SupportMatrix.Write(reference.Device, rows, _dir);
        string text = File.ReadAllText(path);
        Assert.That(Path.GetFileName(path), Is.EqualTo("reference.md"));
        Assert.That(text, Does.Contain("| DequantFp4 | f4e2m1 | no | 1 | DequantFp4 'dequant': planted: DequantFp4 is switched off |"));
        Assert.That(text, Does.Contain("## Whole MoE layers"));
    }

    [Test]
    public void The_device_id_becomes_a_safe_file_name() =>
        Assert.That(ConformanceReport.FileStem("cuda:0"), Is.EqualTo("cuda-0"));
}
