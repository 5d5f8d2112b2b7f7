using Accel.Errors;
using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance.Tests;

public sealed class CatalogTests
{
    [Test]
    public void Ids_are_unique_and_readable()
    {
        var ids = CaseCatalog.All.Select(c => c.Id).ToList();
        Assert.That(ids, Is.Unique);
        Assert.That(ids, Has.All.Matches<string>(id => id!.Contains("(type=", StringComparison.Ordinal) && id.EndsWith(')')));
        Assert.That(ids, Does.Contain("GroupedGemm(type=bf16,experts=16,k=4,tokens=37,d=96,i=48,align=1,routing=uniform)"));
    }

    [Test]
    public void The_quick_set_covers_every_op_and_every_layer_family_and_is_never_slow()
    {
        var quick = CaseCatalog.Quick;
        Assert.That(Enum.GetValues<OpKind>().Where(op => !quick.Any(c => c.Op == op)), Is.Empty, "ops without a quick case");
        Assert.That(CaseCatalog.LayerFamilies.Where(f => !quick.Any(c => c.IsLayer && c.Text("family") == f)), Is.Empty);
        Assert.That(CaseCatalog.LayerFamilies, Is.EquivalentTo(new[] { "deepseek-v3", "deepseek-v4-scored", "deepseek-v4-hash", "mixtral", "qwen2-moe" }));
        Assert.That(quick.Where(c => c.Slow), Is.Empty);
        Assert.That(quick, Has.Count.LessThan(CaseCatalog.Standard.Count / 5));
    }

    [Test]
    public void Every_op_is_tested_with_no_tokens_and_one_token()
    {
        foreach (var group in CaseCatalog.Standard.Where(c => c.TryText("tokens") is not null).GroupBy(c => c.Name))
        {
            Assert.That(group.Select(c => c.Int("tokens")), Does.Contain(0).And.Contain(1), group.Key);
        }
    }

    [Test]
    public void Quantised_cases_cover_partial_blocks_and_both_alignments()
    {
        var gemm = CaseCatalog.Standard.Where(c => c.Op == OpKind.GroupedGemm).ToList();
        Assert.That(gemm.Where(c => c.Type == "f8e4m3" && c.Int("d") % 128 != 0 && c.Int("d") > 128), Is.Not.Empty);
        Assert.That(gemm.Where(c => c.Type == "f4e2m1" && c.Int("d") % 32 != 0), Is.Not.Empty);
        Assert.That(gemm.Select(c => c.Int("align")).Distinct(), Is.EquivalentTo(new[] { 1, 16 }));
        Assert.That(gemm.Select(c => c.Text("routing")), Does.Contain("skewed"));
    }

    [Test]
    public void A_case_is_reproducible_from_its_id_alone()
    {
        foreach (var c in CaseCatalog.Quick)
        {
            var again = new ConformanceCase(c.Name, c.Type, [.. c.Parameters.Select(p => (p.Key, (object?)p.Value))]);
            Assert.That(again.Id, Is.EqualTo(c.Id));
            var a = CaseCatalog.Build(c);
            var b = CaseCatalog.Build(again);
            foreach (var (name, tensor) in a.Inputs.Concat(a.Weights))
            {
                var other = b.Inputs.TryGetValue(name, out var i) ? i : b.Weights[name];
                Assert.That(other.ReadOnlyBytes.SequenceEqual(tensor.ReadOnlyBytes), Is.True, $"{c.Id}: {name}");
            }
        }
    }

    [Test]
    public void The_seed_generator_is_fixed_across_runtimes()
    {
        // A golden value: changing the generator would silently change every case's inputs.
        var rng = new CaseRandom(CaseRandom.SeedOf("Add(type=f32,tokens=1,d=96)"));
        Assert.That(rng.NextUInt64(), Is.EqualTo(GoldenFirstValue));
        Assert.That(CaseRandom.SeedOf("x", 1), Is.Not.EqualTo(CaseRandom.SeedOf("x", 0)));
    }

    private const ulong GoldenFirstValue = 3785449586371241329;

    [Test]
    public void Filters_select_sets_substrings_wildcards_and_exact_ids()
    {
        Assert.That(CaseCatalog.Select("quick"), Is.EqualTo(CaseCatalog.Quick));
        Assert.That(CaseCatalog.Select(null), Is.EqualTo(CaseCatalog.Standard));
        Assert.That(CaseCatalog.Select("full"), Has.Count.EqualTo(CaseCatalog.All.Count));
        Assert.That(CaseCatalog.Select("groupedgemm"), Has.All.Property(nameof(ConformanceCase.Op)).EqualTo(OpKind.GroupedGemm));
        Assert.That(CaseCatalog.Select("MoeLayer(*family=mixtral*"), Has.All.Matches<ConformanceCase>(c => c!.Text("family") == "mixtral"));
        var one = CaseCatalog.Quick[3];
        Assert.That(CaseCatalog.Select(one.Id), Is.EqualTo(new[] { one }));
        Assert.That(() => CaseCatalog.Select("NoSuchOp"), Throws.InstanceOf<InvalidInputException>());
    }

    [Test]
    public void Routing_ties_within_the_margin_are_undecided()
    {
        float[] scores =
        [
            0.9f, 0.5f, 0.5f + 1e-7f, 0.1f,   // second and third within 2e-6: K = 2 is a tie
            0.9f, 0.5f, 0.4f, 0.1f,           // clear
        ];
        var margin = new RoutingMargin("scores", 2);
        Assert.That(margin.Decide(HostTensor.FromF32(new Shape(2, 4), scores)), Is.EqualTo(new[] { false, true }));
        var grouped = new RoutingMargin("scores", 1, Groups: 2, TopGroups: 1);
        float[] tiedGroups = [0.7f, 0.1f, 0.1f, 0.7f];
        Assert.That(grouped.Decide(HostTensor.FromF32(new Shape(1, 4), tiedGroups)), Is.EqualTo(new[] { false }));
    }
}
