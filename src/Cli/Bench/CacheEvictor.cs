using System.Runtime.InteropServices;

namespace Accel.Cli.Bench;

/// <summary>
/// Evicts the processor caches by reading a buffer twice the size of the last-level
/// cache (at least 256 MiB), so the next run starts with its weights in DRAM.
/// </summary>
public sealed unsafe class CacheEvictor : IDisposable
{
    private readonly long _bytes;
    private byte* _buffer;

    /// <summary>Allocates the eviction buffer.</summary>
    public CacheEvictor()
    {
        _bytes = Math.Max(256L << 20, 2 * LastLevelCacheBytes());
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)_bytes, 64);
        NativeMemory.Fill(_buffer, (nuint)_bytes, 1);
    }

    /// <summary>Bytes touched by each eviction.</summary>
    public long Bytes => _bytes;

    /// <summary>
    /// Reads every cache line of the buffer. Reading (not writing) leaves the caches full of clean
    /// lines, so the next run does not pay for writing back the eviction buffer.
    /// </summary>
    public void Evict()
    {
        long* p = (long*)_buffer;
        long n = _bytes / 8, sum = 0;
        for (long i = 0; i < n; i += 8)
        {
            sum += p[i];
        }

        Sink = sum;
    }

    /// <summary>Keeps the eviction reads from being optimised away.</summary>
    public long Sink { get; private set; }

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
