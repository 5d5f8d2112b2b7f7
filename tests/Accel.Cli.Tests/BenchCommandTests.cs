using System.Text.Json;
using Accel.Cli.Bench;
using Accel.Cli.Commands;
using Accel.Moe;

namespace Accel.Cli.Tests;

public sealed class BenchCommandTests
{
    [Test]
    public void Every_documented_flag_parses()
    {
        var command = BenchCommand.Create(CliContext.FromProcess());
        var parse = command.Parse(["--device", "cpu", "--preset", "default", "--hidden", "64", "--expert-width", "32", "--experts", "8", "--top-k", "2",
            "--shared-experts", "1", "--groups", "4", "--top-k-groups", "2", "--tokens", "1,3", "--weights", "bf16", "--threads", "2",
            "--hot", "--runs", "2", "--json", "out.json", "--peak-gflops", "100", "--bandwidth-gbps", "10"]);
        Assert.That(parse.Errors, Is.Empty);
    }

    [Test]
    public void A_small_layer_is_measured_and_written_as_json()
    {
        var o = new BenchOptions("cpu", 64, 32, 8, 2, 1, 4, 2, [0, 1, 5], SyntheticFormat.Fp8, 2, Cold: false, Runs: 3, Warmup: 1,
            PeakGflops: 100, BandwidthGbps: 10);
        var run = BenchEngine.Run(o);
        var results = run.Results;
        Assert.That(results.Select(r => r.Tokens), Is.EqualTo(new[] { 0, 1, 5 }));
        Assert.That(results.All(r => r.MinMs <= r.MedianMs && r.MedianMs <= r.MaxMs), Is.True);
        Assert.That(results[1].ExpertsTouched, Is.EqualTo(2));
        using var doc = JsonDocument.Parse(BenchCommand.ToJson(o, run));
        Assert.That(doc.RootElement.GetProperty("peak_gflops").GetDouble(), Is.EqualTo(100));
        Assert.That(doc.RootElement.GetProperty("bandwidth_source").GetString(), Is.EqualTo("given with --bandwidth-gbps"));
        var first = doc.RootElement.GetProperty("results")[1];
        foreach (string key in new[] { "tokens", "median_ms", "min_ms", "max_ms", "tokens_per_s", "gflops", "weight_gbps", "roofline_pct" })
        {
            Assert.That(first.TryGetProperty(key, out _), Is.True, key);
        }
    }

    [TestCase(true, true)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    public void Cold_runs_on_the_host_are_held_to_the_bandwidth_of_their_moment_when_asked(bool cold, bool asked)
    {
        var o = new BenchOptions("cpu", 64, 32, 8, 2, 1, 4, 2, [1], SyntheticFormat.F32, 2, Cold: cold, Runs: 3, Warmup: 1,
            PeakGflops: 100, BandwidthGbps: 10, Moments: asked);
        var r = BenchEngine.Run(o).Results.Single();
        if (cold && asked)
        {
            Assert.That(r.MomentGbps, Is.GreaterThan(0.1).And.LessThan(10_000));
            Assert.That(r.MomentRatio, Is.GreaterThan(0));
        }
        else
        {
            Assert.That(r.MomentGbps, Is.Null);
            Assert.That(r.MomentRatio, Is.Null);
        }
    }

    [Test]
    public void Flops_and_bytes_follow_the_layer_shape()
    {
        var o = new BenchOptions("cpu", 1024, 512, 64, 6, 2, 8, 4, [1], SyntheticFormat.F32, 2, true, 1, 0, 300, 22);
        Assert.That(BenchEngine.Flops(o, 1), Is.EqualTo(2.0 * (64 * 1024 + 6 * 3 * 1024 * 512 + 3 * 1024 * 1024)));
        // 6 routed and 2 shared f32 experts, the f32 router and its selection bias.
        Assert.That(BenchEngine.WeightBytes(o, 6), Is.EqualTo(8.0 * 3 * 1024 * 512 * 4 + 4.0 * 64 * 1024 + 4.0 * 64));
        Assert.That(BenchCommand.TryTokens("1, 16,128", out var t) && t.SequenceEqual([1, 16, 128]), Is.True);
        Assert.That(BenchCommand.TryFormat("fp8", out var f) && f == SyntheticFormat.Fp8, Is.True);
        Assert.That(BenchCommand.TryFormat("int3", out _), Is.False);
    }
}
