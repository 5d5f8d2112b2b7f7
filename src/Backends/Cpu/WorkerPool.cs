using System.Runtime.CompilerServices;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Accel.Backends.Cpu;

/// <summary>
/// Work split into <see cref="Count"/> independent items; every participating thread takes the
/// next item until none is left (dynamic scheduling without allocation). With several ranges
/// (<see cref="Reset(int, int)"/>) the items are split into that many consecutive runs: thread w
/// takes its run's items in order, then helps with the others' (from their next item), so each
/// thread walks adjacent items (adjacent weight rows, for the decode tiles) while a late or slow
/// thread's share is still taken over.
/// </summary>
internal abstract class ParallelJob
{
    // Cursor of range r at _cursors[r * Stride] (a cache line apart, so threads do not share one).
    private const int Stride = 16;
    private int[] _cursors = new int[Stride];
    private int _ranges = 1;

    /// <summary>Number of items.</summary>
    public int Count { get; private set; }

    /// <summary>Prepares the job for <paramref name="count"/> items taken from one shared sequence.</summary>
    public void Reset(int count) => Reset(count, 1);

    /// <summary>Prepares the job for <paramref name="count"/> items in <paramref name="ranges"/> consecutive runs (one per thread).</summary>
    public void Reset(int count, int ranges)
    {
        Count = count;
        _ranges = Math.Clamp(ranges, 1, Math.Max(1, count));
        if (_cursors.Length < _ranges * Stride)
        {
            _cursors = new int[_ranges * Stride];
        }

        for (int r = 0; r < _ranges; r++)
        {
            _cursors[r * Stride] = Start(r);
        }
    }

    /// <summary>Runs items until none is left; called once by every participating thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Drain(int worker)
    {
        for (int j = 0; j < _ranges; j++)
        {
            int r = (worker + j) % _ranges, end = Start(r + 1), i;
            while ((i = Interlocked.Increment(ref _cursors[r * Stride]) - 1) < end)
            {
                Execute(i, worker);
            }
        }
    }

    private int Start(int range) => (int)((long)Count * range / _ranges);

    /// <summary>Runs item <paramref name="index"/> on thread <paramref name="worker"/> (0 = the caller).</summary>
    protected abstract void Execute(int index, int worker);
}

/// <summary>
/// A fixed pool sized to the machine: the calling thread plus <c>threads - 1</c> workers that spin
/// briefly after each job (so back-to-back nodes start without a kernel wake-up), then nap in short
/// sleeps for a while (so the next run's caller need not wake them either), then block.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    private static readonly long SpinTicks = Stopwatch.Frequency / 2000; // 0.5 ms
    private readonly long _napTicks;
    private readonly CallerPlacement? _placement;
    private readonly Thread[] _threads;
    private readonly object _lock = new();
    private ParallelJob? _job;
    private int _generation;
    private int _joined = Closed;

    /// <summary>Added to the join count when the caller has drained the job: negative means closed.</summary>
    private const int Closed = -(1 << 30);
    private volatile bool _stop;
    private ExceptionDispatchInfo? _error;

    public WorkerPool(int threads, double napMilliseconds = 0, bool avoidCaller = false)
    {
        Threads = Math.Max(1, threads);
        _placement = avoidCaller ? CallerPlacement.Create(Threads - 1) : null;
        _napTicks = Naps.Available ? (long)(Math.Max(0, napMilliseconds) * Stopwatch.Frequency / 1000) : 0;
        _threads = new Thread[Threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int worker = i + 1;
            _threads[i] = new Thread(() => Loop(worker)) { IsBackground = true, Name = $"accel-cpu-{worker}" };
            _threads[i].Start();
        }
    }

    /// <summary>Threads that run a job, the caller included.</summary>
    public int Threads { get; }

    /// <summary>
    /// Runs <paramref name="job"/> (already <see cref="ParallelJob.Reset(int)"/>) on the caller and on
    /// every worker that joins while it still has items, and waits for those. A worker still asleep
    /// when the caller has drained the job is not waited for (its wake-up would cost more than the
    /// job), so the first op after an idle spell does not pay the wake-up latency.
    /// </summary>
    public void Run(ParallelJob job)
    {
        if (Threads == 1 || job.Count <= 1)
        {
            job.Drain(0);
            return;
        }

        _placement?.Apply();
        _job = job;
        _error = null;
        Volatile.Write(ref _joined, 0);
        lock (_lock)
        {
            _generation++;
            Monitor.PulseAll(_lock);
        }

        try
        {
            job.Drain(0);
        }
        finally
        {
            // Close the job to latecomers, then wait for the workers that joined it.
            Interlocked.Add(ref _joined, Closed);
            var spin = new SpinWait();
            while (Volatile.Read(ref _joined) != Closed)
            {
                spin.SpinOnce(-1);
            }

            _job = null;
        }

        _error?.Throw();
    }

    /// <summary>Joins the current job unless it is closed; false when it is.</summary>
    private bool TryJoin()
    {
        while (true)
        {
            int n = Volatile.Read(ref _joined);
            if (n < 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _joined, n + 1, n) == n)
            {
                return true;
            }
        }
    }

    private void Loop(int worker)
    {
        int seen = 0;
        _placement?.Register(worker, CallerPlacement.CurrentThreadId());
        if (_napTicks > 0)
        {
            Naps.Prepare();
        }

        while (true)
        {
            long spinUntil = Stopwatch.GetTimestamp() + SpinTicks, napUntil = spinUntil + _napTicks;
            while (Volatile.Read(ref _generation) == seen && !_stop)
            {
                long now = Stopwatch.GetTimestamp();
                if (now < spinUntil)
                {
                    Thread.SpinWait(30);
                    continue;
                }

                if (now < napUntil)
                {
                    // Short naps: the caller of the next job only bumps the generation; waking a
                    // thread blocked in the kernel would cost the caller a system call (tens of
                    // microseconds on a virtual machine whose idle processors halt).
                    Naps.Nap();
                    continue;
                }

                lock (_lock)
                {
                    while (_generation == seen && !_stop)
                    {
                        Monitor.Wait(_lock);
                    }
                }
            }

            if (_stop)
            {
                return;
            }

            seen = Volatile.Read(ref _generation);
            if (!TryJoin())
            {
                continue;
            }

            try
            {
                _job?.Drain(worker);
            }
            catch (Exception e)
            {
                _error ??= ExceptionDispatchInfo.Capture(e);
            }
            finally
            {
                Interlocked.Decrement(ref _joined);
            }
        }
    }

    public void Dispose()
    {
        _stop = true;
        lock (_lock)
        {
            Monitor.PulseAll(_lock);
        }

        foreach (var t in _threads)
        {
            t.Join();
        }
    }
}

/// <summary>Sub-millisecond sleeps for idle workers (Linux: <c>nanosleep</c> with a 1 us timer slack).</summary>
internal static partial class Naps
{
    private const int PrSetTimerSlack = 29;
    private const long NapNanoseconds = 50_000;

    /// <summary>Whether naps are available (Linux); elsewhere the workers go from spinning straight to sleeping.</summary>
    public static bool Available { get; } = OperatingSystem.IsLinux();

    /// <summary>Lowers the calling thread's timer slack, so a nap ends on time (the default slack is 50 us).</summary>
    public static void Prepare()
    {
        try
        {
            _ = Prctl(PrSetTimerSlack, 1000, 0, 0, 0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Naps then last up to the default slack longer; nothing else changes.
        }
    }

    /// <summary>Sleeps about 50 us.</summary>
    public static unsafe void Nap()
    {
        var t = new Timespec { Seconds = 0, Nanoseconds = NapNanoseconds };
        _ = Nanosleep(&t, null);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "prctl")]
    private static partial int Prctl(int option, nuint a, nuint b, nuint c, nuint d);

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static unsafe partial int Nanosleep(Timespec* request, Timespec* remaining);
}
