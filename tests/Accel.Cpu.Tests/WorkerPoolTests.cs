using Accel.Backends.Cpu;

namespace Accel.Cpu.Tests;

/// <summary>
/// The worker pool and its jobs: every item runs exactly once, whether the items come from one
/// shared sequence or from one run per thread, and whichever threads join.
/// </summary>
public sealed class WorkerPoolTests
{
    private sealed class CountingJob : ParallelJob
    {
        public int[] Runs = [];
        public int[] Worker = [];

        public void Prepare(int count, int ranges)
        {
            Runs = new int[count];
            Worker = new int[count];
            Reset(count, ranges);
        }

        protected override void Execute(int index, int worker)
        {
            Interlocked.Increment(ref Runs[index]);
            Worker[index] = worker;
            Thread.SpinWait(200);
        }
    }

    [TestCase(1, 0, 1)]
    [TestCase(1, 7, 1)]
    [TestCase(2, 1, 2)]
    [TestCase(2, 383, 2)]
    [TestCase(3, 1000, 3)]
    [TestCase(4, 5, 4)]
    [TestCase(4, 1000, 1)]
    [TestCase(2, 3, 8)]
    public void Every_item_runs_once(int threads, int count, int ranges)
    {
        using var pool = new WorkerPool(threads);
        var job = new CountingJob();
        for (int round = 0; round < 20; round++)
        {
            job.Prepare(count, ranges);
            pool.Run(job);
            Assert.That(job.Runs, Is.All.EqualTo(1), $"round {round}");
        }
    }

    [TestCase(0, 0)]
    [TestCase(0, 30)]
    [TestCase(5, 2)]
    [TestCase(5, 30)]
    [TestCase(1000, 30)]
    public void Jobs_after_idle_spells_run_every_item_once(int napMilliseconds, int idleMilliseconds)
    {
        // Idle spells that end while the workers spin (0 ms), nap (2 ms of a 5 ms nap window) or
        // sleep in the kernel (30 ms after a nap window of 0 or 5 ms), and a pool disposed while napping.
        var pool = new WorkerPool(3, napMilliseconds);
        var job = new CountingJob();
        for (int round = 0; round < 5; round++)
        {
            Thread.Sleep(idleMilliseconds);
            job.Prepare(500, 3);
            pool.Run(job);
            Assert.That(job.Runs, Is.All.EqualTo(1), $"round {round}");
        }

        var disposing = Task.Run(pool.Dispose);
        Assert.That(disposing.Wait(TimeSpan.FromSeconds(10)), Is.True, "Dispose did not return: a worker kept napping or sleeping");
    }

    [TestCase(2)]
    [TestCase(3)]
    public void Workers_kept_off_the_callers_processor_run_every_item_once(int threads)
    {
        using var pool = new WorkerPool(threads, 0, avoidCaller: true);
        var job = new CountingJob();
        for (int round = 0; round < 5; round++)
        {
            Thread.Sleep(round % 2 * 30);
            job.Prepare(300, threads);
            pool.Run(job);
            Assert.That(job.Runs, Is.All.EqualTo(1), $"round {round}");
        }
    }

    [Test]
    public void A_placed_worker_may_run_anywhere_but_the_callers_processor()
    {
        var allowed = CallerPlacement.AffinityOf(0);
        if (!OperatingSystem.IsLinux() || allowed is null || allowed.Count < 2)
        {
            Assert.Ignore("Needs Linux and at least two processors allowed to this process.");
        }

        var placement = CallerPlacement.Create(1);
        Assert.That(placement, Is.Not.Null);
        using var registered = new ManualResetEventSlim();
        using var done = new ManualResetEventSlim();
        int tid = 0;
        var worker = new Thread(() =>
        {
            tid = CallerPlacement.CurrentThreadId();
            placement!.Register(1, tid);
            registered.Set();
            done.Wait();
        });
        worker.Start();
        try
        {
            registered.Wait();
            Assert.That(placement!.Avoided, Is.EqualTo(-1));
            placement.Apply();
            int avoided = placement.Avoided;
            Assert.That(avoided, Is.GreaterThanOrEqualTo(0), "the affinity call was refused");
            Assert.That(CallerPlacement.AffinityOf(tid), Is.EquivalentTo(allowed!.Where(c => c != avoided)));
        }
        finally
        {
            done.Set();
            worker.Join();
        }
    }

    [Test]
    public void A_refused_move_stops_the_placement()
    {
        var placement = CallerPlacement.Create(1);
        if (placement is null)
        {
            Assert.Ignore("Needs Linux and at least two processors allowed to this process.");
        }

        placement.Register(1, int.MaxValue); // no such thread: the kernel refuses to move it
        placement.Apply();
        Assert.That((placement.Refused, placement.Avoided), Is.EqualTo((true, -1)));
        using var registered = new ManualResetEventSlim();
        using var done = new ManualResetEventSlim();
        var worker = new Thread(() =>
        {
            placement.Register(1, CallerPlacement.CurrentThreadId());
            registered.Set();
            done.Wait();
        });
        worker.Start();
        try
        {
            registered.Wait();
            placement.Apply();
            Assert.That((placement.Refused, placement.Avoided), Is.EqualTo((true, -1)), "a refused placement must not try again");
        }
        finally
        {
            done.Set();
            worker.Join();
        }
    }

    [Test]
    public void No_placement_when_the_workers_would_crowd_fewer_processors()
    {
        int allowed = CallerPlacement.AffinityOf(0)?.Count ?? 0;
        Assert.That(CallerPlacement.Create(Math.Max(allowed, 1)), Is.Null);
        Assert.That(CallerPlacement.Create(0), Is.Null);
    }

    [Test]
    public void A_thread_alone_takes_every_range()
    {
        var job = new CountingJob();
        job.Prepare(100, 4);
        job.Drain(2);
        Assert.That(job.Runs, Is.All.EqualTo(1));
        Assert.That(job.Worker, Is.All.EqualTo(2));
    }

    [Test]
    public void With_ranges_a_thread_starts_on_its_own_run_in_order()
    {
        var order = new List<int>();
        var recorder = new RecordingJob(order);
        recorder.Reset(10, 2);
        recorder.Drain(1);
        Assert.That(order, Is.EqualTo(new[] { 5, 6, 7, 8, 9, 0, 1, 2, 3, 4 }));
    }

    private sealed class RecordingJob(List<int> order) : ParallelJob
    {
        protected override void Execute(int index, int worker) => order.Add(index);
    }
}
