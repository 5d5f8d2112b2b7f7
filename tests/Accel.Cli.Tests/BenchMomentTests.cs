using Accel.Cli.Bench;

namespace Accel.Cli.Tests;

/// <summary>
/// Runs held to the bandwidth of their own moment: the evictions time themselves, and each run is
/// compared with the floor at the bandwidth read just before it.
/// </summary>
public sealed unsafe class BenchMomentTests
{
    // (run ms, GB/s before it) pairs, bytes, FLOP, peak GFLOP/s, expected median ratio.
    private static readonly object[] Ratios =
    [
        // 100 MB at 50 GB/s is 2 ms: runs of 3 ms are 1.5x, at 100 GB/s (1 ms) 3x; median of 1.5, 1.5, 3.
        new object[] { new[] { 3.0, 3.0, 3.0 }, new[] { 50.0, 50.0, 100.0 }, 100e6, 1e6, 1000.0, 1.5 },
        // Each run at its own moment: 1 ms / 0.5 ms, 4 / 4, 4 / 1 -> 2, 1, 4, median 2 (the median run
        // over the floor at the median bandwidth, 100 GB/s, would be 4).
        new object[] { new[] { 1.0, 4.0, 4.0 }, new[] { 200.0, 25.0, 100.0 }, 100e6, 1e6, 1000.0, 2.0 },
        // Compute-bound: 1e9 FLOP at 100 GFLOP/s is 10 ms whatever the bandwidth; even count takes the mean of the middle two.
        new object[] { new[] { 10.0, 20.0 }, new[] { 50.0, 80.0 }, 1e6, 1e9, 100.0, 1.5 },
    ];

    [TestCaseSource(nameof(Ratios))]
    public void Each_run_is_held_to_the_bandwidth_read_before_it(double[] ms, double[] gbps, double bytes, double flops, double peak, double expected) =>
        Assert.That(BenchEngine.MomentRatio(ms, gbps, flops, bytes, peak), Is.EqualTo(expected).Within(1e-12));

    [TestCase(new[] { 1.0, 2.0 }, new[] { 10.0 }, "2 times, 1 bandwidths")]
    [TestCase(new double[0], new double[0], "0 times, 0 bandwidths")]
    [TestCase(new[] { 1.0, 2.0 }, new[] { 10.0, 0.0 }, "Bandwidth 1 is 0 GB/s")]
    [TestCase(new[] { 1.0 }, new[] { double.NaN }, "Bandwidth 0 is NaN GB/s")]
    public void Mismatched_or_unmeasured_moments_are_refused(double[] ms, double[] gbps, string message) =>
        Assert.That(() => BenchEngine.MomentRatio(ms, gbps, 1, 1, 1), Throws.ArgumentException.With.Message.Contains(message));

    [Test]
    public void Every_timed_run_gets_the_bandwidth_of_its_eviction()
    {
        using var evictor = new CacheEvictor(threads: 2);
        Assert.That(evictor.LastGbps, Is.Zero);
        var moments = new List<double>();
        var times = BenchEngine.Measure(() => { }, warmup: 0, runs: 3, evictor, moments);
        Assert.That(times, Has.Length.EqualTo(3));
        Assert.That(moments, Has.Count.EqualTo(3));
        Assert.That(moments, Is.All.GreaterThan(0.1).And.LessThan(10_000), "GB/s of a 256 MiB read");
        Assert.That(evictor.LastGbps, Is.EqualTo(moments[^1]));
    }

    [Test]
    public void A_disposed_evictor_refuses_to_evict()
    {
        var evictor = new CacheEvictor();
        evictor.Dispose();
        Assert.That(evictor.Evict, Throws.InstanceOf<ObjectDisposedException>());
    }

    [TestCase(0, 1 << 20)]
    [TestCase(2, 64)]
    public void One_read_pass_refuses_no_threads_or_a_buffer_too_small_for_them(int threads, long bytes)
    {
        var buffer = new byte[1 << 20];
        fixed (byte* p = buffer)
        {
            byte* q = p;
            Assert.That(() => MachineProbe.ReadGbps(q, bytes, threads), Throws.InstanceOf<ArgumentOutOfRangeException>());
        }
    }
}
