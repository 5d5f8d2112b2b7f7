using System.Runtime.InteropServices;

namespace Accel.Backends.Cpu;

/// <summary>
/// Keeps a pool's workers off the processor its caller runs on (Linux). The caller takes part in
/// every job, so a worker that the kernel wakes onto the caller's processor cannot run until the
/// caller stops, and a whole op then runs on one thread. On the 2-vCPU virtual machine of
/// docs/performance.md the worker took no tile at all in 12 of 30 of the benchmark layer's
/// 1-token runs after an idle spell (those runs took 1.7-2.9 ms against 1.05-1.7). Before each job
/// the pool asks which processor the caller is on and, when that changed, sets every worker's
/// affinity to the process's processors less that one.
/// </summary>
internal sealed unsafe partial class CallerPlacement
{
    private const int MaskWords = 16; // 1024 processors
    private readonly ulong[] _allowed = new ulong[MaskWords];
    private readonly int[] _threadIds;
    private int _avoided = -1;

    private CallerPlacement(int workers) => _threadIds = new int[workers];

    /// <summary>
    /// A placement for <paramref name="workers"/> workers, or null where it does not apply: not Linux,
    /// no affinity calls, or fewer than <paramref name="workers"/> + 1 processors allowed (the workers
    /// would then crowd onto fewer processors than they are).
    /// </summary>
    public static CallerPlacement? Create(int workers)
    {
        if (workers < 1)
        {
            return null;
        }

        var p = new CallerPlacement(workers);
        fixed (ulong* mask = p._allowed)
        {
            if (!TryGetAffinity(0, mask) || !CanAskCpu())
            {
                return null;
            }
        }

        int allowed = 0;
        foreach (ulong word in p._allowed)
        {
            allowed += System.Numerics.BitOperations.PopCount(word);
        }

        return allowed > workers ? p : null;
    }

    /// <summary>The processor last kept free for the caller (-1 before the first job, while a worker has not started, or once refused).</summary>
    public int Avoided => _avoided;

    /// <summary>
    /// Whether the kernel refused to move a worker (a thread gone, a processor set changed under the
    /// process): the placement then stops trying, so no op pays for failing system calls, and the
    /// workers stay where they are.
    /// </summary>
    public bool Refused { get; private set; }

    /// <summary>Records the thread id of worker <paramref name="index"/> (1-based); 0 leaves that worker where the kernel puts it.</summary>
    public void Register(int index, int threadId) => Volatile.Write(ref _threadIds[index - 1], threadId);

    /// <summary>The operating system's id of the calling thread (0 where unknown).</summary>
    public static int CurrentThreadId()
    {
        try
        {
            return GetThreadId();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return 0;
        }
    }

    /// <summary>The processors thread <paramref name="threadId"/> may run on (0 for the caller), or null where that cannot be asked.</summary>
    public static IReadOnlyList<int>? AffinityOf(int threadId)
    {
        ulong* mask = stackalloc ulong[MaskWords];
        if (!TryGetAffinity(threadId, mask))
        {
            return null;
        }

        var cpus = new List<int>();
        for (int cpu = 0; cpu < MaskWords * 64; cpu++)
        {
            if ((mask[cpu >> 6] & (1UL << (cpu & 63))) != 0)
            {
                cpus.Add(cpu);
            }
        }

        return cpus;
    }

    /// <summary>Reads the affinity mask of thread <paramref name="threadId"/> (0: the caller); false off Linux or when the call fails or is missing.</summary>
    private static bool TryGetAffinity(int threadId, ulong* mask)
    {
        try
        {
            return OperatingSystem.IsLinux() && GetAffinity(threadId, MaskWords * sizeof(ulong), mask) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Whether <c>sched_getcpu</c> can be called here.</summary>
    private static bool CanAskCpu()
    {
        try
        {
            return GetCpu() >= 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Moves the workers off the caller's processor when the caller has moved since the last job.</summary>
    public void Apply()
    {
        if (Refused)
        {
            return;
        }

        int cpu = GetCpu();
        if (cpu == _avoided || cpu < 0 || cpu >= MaskWords * 64)
        {
            return;
        }

        ulong* mask = stackalloc ulong[MaskWords];
        for (int i = 0; i < MaskWords; i++)
        {
            mask[i] = _allowed[i];
        }

        mask[cpu >> 6] &= ~(1UL << (cpu & 63));
        bool all = true;
        foreach (ref int id in _threadIds.AsSpan())
        {
            int tid = Volatile.Read(ref id);
            if (tid == 0)
            {
                all = false; // not started yet: tried again at the next job
            }
            else if (SetAffinity(tid, MaskWords * sizeof(ulong), mask) != 0)
            {
                Refused = true;
                _avoided = -1;
                return;
            }
        }

        _avoided = all ? cpu : -1;
    }

    [LibraryImport("libc", EntryPoint = "sched_getaffinity")]
    private static partial int GetAffinity(int pid, nuint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_setaffinity")]
    private static partial int SetAffinity(int pid, nuint size, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getcpu")]
    private static partial int GetCpu();

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();
}
