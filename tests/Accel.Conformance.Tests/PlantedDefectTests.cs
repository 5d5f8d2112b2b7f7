using Accel.Backends.Reference;
using Accel.Graph;

namespace Accel.Conformance.Tests;

/// <summary>
/// Proof that the suite can fail: backends with a planted defect make exactly the cases that use
/// the defective op FAIL, and leave every other case OK.
/// </summary>
public sealed class PlantedDefectTests
{
    /// <summary>The quick set plus edge cases of the ops the defects target (T = 0, alignment 16).</summary>
    private static IReadOnlyList<ConformanceCase> Cases { get; } =
    [
        .. CaseCatalog.Quick,
        .. CaseCatalog.Standard.Where(c => c.Op is OpKind.Permute or OpKind.SwiGlu && !c.Quick && c.Int("tokens") <= 1),
    ];

    private static bool Uses(ConformanceCase c, OpKind kind) => CaseCatalog.Build(c).Graph.Nodes.Any(n => n.Kind == kind);

    private static bool HasNonEmptyOutput(ConformanceCase c, OpKind kind)
    {
        var p = CaseCatalog.Build(c);
        long tokens = c.Int("tokens", 0);
        return p.Graph.Nodes.Where(n => n.Kind == kind)
            .Any(n => p.Graph.Values[n.Outputs[0]].Shape.Resolve(tokens).Elements > 0);
    }

    [Test]
    public void A_perturbed_op_fails_exactly_the_cases_that_use_it()
    {
        using var reference = new ReferenceBackend();
        using var defective = new PerturbingBackend(reference, OpKind.SwiGlu);
        using var runner = new ConformanceRunner();
        var results = Cases.Select(c => (Case: c, Result: runner.Run(c, defective))).ToList();

        var failed = results.Where(r => r.Result.Status == CaseStatus.Fail).Select(r => r.Case.Id).ToList();
        var expected = results.Where(r => HasNonEmptyOutput(r.Case, OpKind.SwiGlu)).Select(r => r.Case.Id).ToList();
        Assert.That(expected, Has.Count.GreaterThanOrEqualTo(6), "the SwiGlu case and every layer family");
        Assert.That(failed, Is.EquivalentTo(expected));
        Assert.That(results.Where(r => !expected.Contains(r.Case.Id)).Select(r => r.Result.Status), Has.All.EqualTo(CaseStatus.Ok));
    }

    [Test]
    public void A_perturbed_integer_op_fails_exactly_the_cases_that_use_it()
    {
        using var reference = new ReferenceBackend();
        using var defective = new PerturbingBackend(reference, OpKind.ExclusiveScan);
        using var runner = new ConformanceRunner();
        foreach (var c in CaseCatalog.Quick)
        {
            var r = runner.Run(c, defective);
            Assert.That(r.Status, Is.EqualTo(Uses(c, OpKind.ExclusiveScan) ? CaseStatus.Fail : CaseStatus.Ok), $"{c.Id}: {r.Detail}");
        }
    }

    [Test]
    public void The_arena_backend_without_a_defect_passes_every_case()
    {
        using var arena = new ArenaBackend();
        using var runner = new ConformanceRunner();
        foreach (var c in Cases)
        {
            var r = runner.Run(c, arena);
            Assert.That(r.Status, Is.EqualTo(CaseStatus.Ok), $"{c.Id}: {r.Detail}");
        }
    }

    [Test]
    public void A_one_element_overrun_fails_exactly_the_cases_that_use_the_op()
    {
        using var arena = new ArenaBackend(OpKind.Permute, ArenaDefect.Overrun);
        using var runner = new ConformanceRunner();
        foreach (var c in Cases)
        {
            var r = runner.Run(c, arena);
            if (Uses(c, OpKind.Permute))
            {
                // Even T = 0 fails: the element after an empty output is the first byte of its guard.
                Assert.That(r.Status, Is.EqualTo(CaseStatus.Fail), c.Id);
                Assert.That(r.Detail, Does.Contain("past the end").And.Contain("'permute'"), c.Id);
            }
            else
            {
                Assert.That(r.Status, Is.EqualTo(CaseStatus.Ok), $"{c.Id}: {r.Detail}");
            }
        }
    }

    [Test]
    public void An_unsupported_op_is_reported_never_passed()
    {
        using var reference = new ReferenceBackend();
        using var partial = new PerturbingBackend(reference, null, OpKind.GroupedGemm);
        using var runner = new ConformanceRunner();
        foreach (var c in CaseCatalog.Quick)
        {
            var r = runner.Run(c, partial);
            if (Uses(c, OpKind.GroupedGemm))
            {
                Assert.That(r.Status, Is.EqualTo(CaseStatus.NotSupported), c.Id);
                Assert.That(r.Detail, Does.Contain("planted: GroupedGemm is switched off"));
                Assert.That(r.Checks, Is.Empty, "an unsupported case is never run");
            }
            else
            {
                Assert.That(r.Status, Is.EqualTo(CaseStatus.Ok), $"{c.Id}: {r.Detail}");
            }
        }
    }

    [Test]
    public void A_one_element_underrun_is_caught_by_the_guard_before_the_output()
    {
        using var arena = new ArenaBackend(OpKind.RouterGemm, ArenaDefect.Underrun);
        using var runner = new ConformanceRunner();
        var c = CaseCatalog.Quick.First(x => x.Op == OpKind.RouterGemm);
        var r = runner.Run(c, arena);
        Assert.That(r.Status, Is.EqualTo(CaseStatus.Fail));
        Assert.That(r.Detail, Does.Contain("before the start"));
    }

    [TestCase(OpKind.RouterScore)]
    [TestCase(OpKind.ExpertHistogram)]
    [TestCase(OpKind.ActQuantFp8)]
    public void An_output_left_unwritten_fails(OpKind op)
    {
        using var arena = new ArenaBackend(op, ArenaDefect.Unwritten);
        using var runner = new ConformanceRunner();
        var c = CaseCatalog.Quick.First(x => x.Op == op);
        var r = runner.Run(c, arena);
        Assert.That(r.Status, Is.EqualTo(CaseStatus.Fail), "the poison left in the output must not pass");
    }
}
