using Accel.Cli.Bench;
using Accel.Cli.Commands;
using Accel.Errors;
using Accel.Graph;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Cli.Tests;

/// <summary>
/// <c>--preset</c>: names, defaults, the V4-Flash layer it selects and flags overriding it; the
/// weight bytes a run reads, counted from the stored tensors; the memory guard's refusal.
/// </summary>
public sealed class BenchPresetTests
{
    [TestCase("default", BenchPreset.Default)]
    [TestCase("v4-flash", BenchPreset.V4Flash)]
    [TestCase("V4-Flash", BenchPreset.V4Flash)]
    [TestCase("deepseek-v4-flash", BenchPreset.V4Flash)]
    public void Preset_names_parse(string name, BenchPreset expected) =>
        Assert.That(BenchPresets.Parse(name), Is.EqualTo(expected));

    [Test]
    public void An_unknown_preset_names_the_known_ones() =>
        Assert.That(() => BenchPresets.Parse("v5"), Throws.InstanceOf<InvalidInputException>()
            .With.Message.Contains("default").And.Message.Contains("v4-flash"));

    [Test]
    public void The_v4_flash_preset_is_the_real_layer_at_its_first_scored_layer()
    {
        var d = BenchPresets.Defaults(BenchPreset.V4Flash);
        Assert.That((d.Hidden, d.ExpertWidth, d.Experts, d.TopK, d.SharedExperts), Is.EqualTo((4096, 2048, 256, 6, 1)));
        Assert.That(d.Tokens, Is.EqualTo(new[] { 1, 16, 128 }));
        Assert.That(d.Weights, Is.EqualTo(SyntheticFormat.Fp4));
        var o = Options(BenchPreset.V4Flash, d);
        var c = o.Config();
        Assert.That(c, Is.EqualTo(MoePresets.DeepSeekV4Flash), "the defaults give the preset's config unchanged");
        Assert.That(o.Layer, Is.EqualTo(3));
        Assert.That(c.IsHashLayer(o.Layer), Is.False);
        Assert.That((c.Score, c.RouteScale, c.SwigluLimit), Is.EqualTo((ScoreFunc.SqrtSoftplus, 1.5f, 10f)));
    }

    [Test]
    public void Flags_override_the_preset_sizes_and_the_rest_stays()
    {
        var parse = BenchCommand.Create(CliContext.FromProcess()).Parse(["--preset", "v4-flash", "--experts", "32", "--hidden", "256"]);
        Assert.That(parse.Errors, Is.Empty);
        var d = BenchPresets.Defaults(BenchPreset.V4Flash);
        var o = Options(BenchPreset.V4Flash, d with { Experts = 32, Hidden = 256 });
        var c = o.Config();
        Assert.That((c.Experts, c.Hidden, c.ExpertWidth, c.Family, c.HashLayers), Is.EqualTo((32, 256, 2048, MoeFamily.DeepSeekV4, 3)));
        var def = Options(BenchPreset.Default, BenchPresets.Defaults(BenchPreset.Default));
        Assert.That((def.Config().Family, def.Layer, def.Weights), Is.EqualTo((MoeFamily.DeepSeekV3, BenchEngine.Layer, SyntheticFormat.F32)));
    }

    private static BenchOptions Options(BenchPreset p, BenchDefaults d) =>
        new("cpu", d.Hidden, d.ExpertWidth, d.Experts, d.TopK, d.SharedExperts, d.Groups, d.TopKGroups, d.Tokens, d.Weights, 1, true, 1, 0,
            Preset: p);

    private static IEnumerable<TestCaseData> Formats()
    {
        foreach (var p in new[] { BenchPreset.Default, BenchPreset.V4Flash })
        {
            foreach (var f in Enum.GetValues<SyntheticFormat>())
            {
                foreach (int touched in new[] { 0, 1, 5, 12 })
                {
                    yield return new TestCaseData(p, f, touched);
                }
            }
        }
    }

    /// <summary>
    /// For each format, the bytes of a run touching the first <paramref name="touched"/> experts are the
    /// sum of the stored checkpoint tensors it reads (router weight and bias, those experts' three
    /// projections with their scales, the shared expert with its scales), from the loaded weights and from the plan.
    /// </summary>
    [TestCaseSource(nameof(Formats))]
    public void Weight_bytes_are_the_stored_tensors_the_run_reads(BenchPreset preset, SyntheticFormat format, int touched)
    {
        var o = new BenchOptions("cpu", 256, 128, 12, 4, 1, 1, 1, [1], format, 1, true, 1, 0, Preset: preset);
        var c = o.Config();
        var checkpoint = SyntheticCheckpoint.Create(c, o.Layer, format);
        string prefix = MoeWeightNames.Prefix(c.Family, o.Layer);
        var read = new List<string> { prefix + "gate.weight", prefix + "gate.e_score_correction_bias" };
        foreach (string proj in MoeWeightNames.Projections)
        {
            read.AddRange(Enumerable.Range(0, touched).Select(e => MoeWeightNames.HfExpert(c.Family, o.Layer, e, proj)));
            read.Add(MoeWeightNames.HfShared(c.Family, o.Layer, proj));
        }

        var scales = read.SelectMany(n => new[] { n + "_scale_inv", n[..^".weight".Length] + ".scale" }).Where(checkpoint.ContainsKey).ToArray();
        long expected = read.Concat(scales).Sum(n => (long)checkpoint[n].ReadOnlyBytes.Length);
        Assert.That(scales.Length > 0, Is.EqualTo(format is SyntheticFormat.Fp8 or SyntheticFormat.Fp4), "scales present for the scaled formats");
        var loaded = MoeWeightLoader.Load(new InMemoryTensorSource(checkpoint), c, o.Layer);
        Assert.That(WeightTraffic.Bytes(loaded, c, touched), Is.EqualTo(expected), "from the loaded weights");
        Assert.That(BenchEngine.WeightBytes(o, touched), Is.EqualTo(expected), "from the plan");
    }

    [Test]
    public void V4_flash_fp4_bytes_count_fp4_routed_fp8_shared_and_f32_router()
    {
        var o = Options(BenchPreset.V4Flash, BenchPresets.Defaults(BenchPreset.V4Flash));
        long d = 4096, i = 2048;
        long routedPerExpert = 3 * (d * i / 2 + d * i / 32);
        long shared = 3 * (d * i + (d / 128) * (i / 128));
        long router = 256 * d * 4 + 256 * 4;
        Assert.That(BenchEngine.WeightBytes(o, 6), Is.EqualTo(6 * routedPerExpert + shared + router));
    }

    [Test]
    public void The_memory_guard_refuses_a_layer_larger_than_the_memory_and_says_what_fits()
    {
        var o = Options(BenchPreset.V4Flash, BenchPresets.Defaults(BenchPreset.V4Flash));
        long need = BenchMemory.NeededBytes(o);
        Assert.That(need, Is.GreaterThan(2 * BenchMemory.StoredBytes(o)));
        Assert.DoesNotThrow(() => BenchMemory.Check(o, need));
        Assert.DoesNotThrow(() => BenchMemory.Check(o, null));
        var e = Assert.Throws<AccelException>(() => BenchMemory.Check(o, 4_000_000_000));
        Assert.That(e!.Message, Does.Contain("4.0 GB available").And.Contain("--experts"));
        int fits = int.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @"--experts (\d+) fits").Groups[1].Value);
        Assert.That(BenchMemory.NeededBytes(o with { Experts = fits }), Is.LessThanOrEqualTo(4_000_000_000));
        Assert.That(BenchMemory.NeededBytes(o with { Experts = fits + 1 }), Is.GreaterThan(4_000_000_000));
    }

    [Test]
    public void A_stacked_projection_beyond_one_host_tensor_is_refused()
    {
        var o = Options(BenchPreset.V4Flash, BenchPresets.Defaults(BenchPreset.V4Flash)) with { Weights = SyntheticFormat.F32 };
        Assert.That(() => BenchMemory.Check(o, null), Throws.InstanceOf<AccelException>().With.Message.Contains("more than one host tensor holds"));
    }

    [Test]
    public void Available_memory_is_read_from_meminfo()
    {
        string path = Path.GetTempFileName();
        File.WriteAllText(path, "MemTotal:       24000000 kB\nMemFree:        100 kB\nMemAvailable:   23000000 kB\n");
        Assert.That(BenchMemory.AvailableBytes(path), Is.EqualTo(23000000L * 1024));
        File.Delete(path);
        Assert.That(BenchMemory.AvailableBytes(path), Is.Null);
    }
}
