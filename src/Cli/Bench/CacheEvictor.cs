using System.Runtime.InteropServices;

namespace Accel.Cli.Bench;

/// <summary>
/// Evicts the processor caches by reading a buffer twice the size of the last-level
/// cache (at least 256 MiB), so the next run starts with its weights in DRAM. The read is the
/// bandwidth probe's (<see cref="MachineProbe.ReadGbps"/>), timed, so each eviction also says what
/// read bandwidth the machine gave just before the run it precedes (a true figure only when no
/// idle thread of the last run still spins beside it: see <see cref="BenchEngine.Measure"/>).
/// </summary>
public sealed unsafe class CacheEvictor : IDisposable
{
    private readonly long _bytes;
    private readonly int _threads;
    private byte* _buffer;

    /// <summary>Allocates the eviction buffer; <paramref name="threads"/> threads read it (those the benchmark runs with).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is not positive.</exception>
    public CacheEvictor(int threads = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        _threads = threads;
        _bytes = Math.Max(256L << 20, 2 * LastLevelCacheBytes());
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)_bytes, 64);
        NativeMemory.Fill(_buffer, (nuint)_bytes, 1);
    }

    /// <summary>Bytes touched by each eviction.</summary>
    public long Bytes => _bytes;

    /// <summary>The read bandwidth of the last eviction, GB/s (0 before the first).</summary>
    public double LastGbps { get; private set; }

    /// <summary>
    /// Reads the whole buffer. Reading (not writing) leaves the caches full of clean lines, so the
    /// next run does not pay for writing back the eviction buffer.
    /// </summary>
    public void Evict()
    {
        ObjectDisposedException.ThrowIf(_buffer == null, this);
        LastGbps = MachineProbe.ReadGbps(_buffer, _bytes, _threads);
    }

    /// <summary>The last-level cache size from sysfs (Linux), or 64 MiB when unknown.</summary>
    public static long LastLevelCacheBytes()
    {
        try
        {
            for (int index = 4; index >= 0; index--)
            {
                string file = $"/sys/devices/system/cpu/cpu0/cache/index{index}/size";
                if (File.Exists(file))
                {
                    string s = File.ReadAllText(file).Trim();
                    long mult = s.EndsWith('K') ? 1024 : s.EndsWith('M') ? 1 << 20 : 1;
                    return long.Parse(s.TrimEnd('K', 'M'), System.Globalization.CultureInfo.InvariantCulture) * mult;
                }
            }
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            // Fall through to the default.
        }

        return 64L << 20;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_buffer != null)
        {
            NativeMemory.AlignedFree(_buffer);
            _buffer = null;
        }
    }
}
