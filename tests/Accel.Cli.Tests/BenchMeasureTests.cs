using Accel.Cli.Bench;

namespace Accel.Cli.Tests;

/// <summary>How the bench times a run: warm-up until the runtime has settled, then exactly the timed runs.</summary>
public sealed class BenchMeasureTests
{
    [Test]
    public void Warm_up_continues_for_its_time_and_the_timed_runs_are_exact()
    {
        int calls = 0;
        var times = BenchEngine.Measure(() => { calls++; Thread.Sleep(20); }, warmup: 2, runs: 3, evictor: null);
        Assert.That(times, Has.Length.EqualTo(3));
        Assert.That(times, Is.All.GreaterThanOrEqualTo(15.0));

        // One second of 20 ms runs: about 50 warm-up runs, never fewer than asked.
        Assert.That(calls - 3, Is.InRange(2 + 20, BenchEngine.WarmupRunsMax));
    }

    [Test]
    public void Warm_up_stops_at_its_run_limit()
    {
        int calls = 0;
        BenchEngine.Measure(() => calls++, warmup: 1, runs: 1, evictor: null);
        Assert.That(calls, Is.EqualTo(BenchEngine.WarmupRunsMax + 1));
    }

    [Test]
    public void No_warm_up_when_none_is_asked()
    {
        int calls = 0;
        BenchEngine.Measure(() => calls++, warmup: 0, runs: 4, evictor: null);
        Assert.That(calls, Is.EqualTo(4));
    }
}
