namespace Accel.Backends;

/// <summary>
/// Optional interface of a backend that compiles kernels and keeps them in a program cache:
/// how many of the kernels it loaded so far were compiled now and how many came from the cache.
/// </summary>
public interface IKernelCacheStats
{
    /// <summary>Kernels compiled from source by this backend.</summary>
    int KernelsBuilt { get; }

    /// <summary>Kernels loaded from the on-disk program cache (no compilation).</summary>
    int KernelsFromDiskCache { get; }
}
