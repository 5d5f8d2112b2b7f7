using Silk.NET.Core.Contexts;
using Silk.NET.OpenCL;

namespace Accel.Backends.OpenCL;

/// <summary>
/// Loads the OpenCL ICD loader through Silk.NET, in one place. Silk.NET's default search is
/// tried first; because some distributions (Debian) ship only the versioned
/// <c>libOpenCL.so.1</c> and no unversioned <c>libOpenCL.so</c>, the versioned names are tried
/// explicitly after it. The first API that answers <c>clGetPlatformIDs</c> wins.
/// </summary>
internal static class OpenClLibrary
{
    /// <summary>File names tried after Silk.NET's default search, in order.</summary>
    private static readonly string[] FallbackNames =
        OperatingSystem.IsWindows() ? ["OpenCL.dll"]
        : OperatingSystem.IsMacOS() ? ["/System/Library/Frameworks/OpenCL.framework/OpenCL"]
        : ["libOpenCL.so.1", "libOpenCL.so"];

    private static readonly Lazy<(CL? Api, string? Reason)> Loaded = new(Load, isThreadSafe: true);

    /// <summary>
    /// Held around the calls that pass a callback delegate (clCreateContext, clBuildProgram): Silk.NET
    /// keeps such arguments alive in a process-wide table that is not safe to update from two threads
    /// at once (backends opened on several threads failed with index errors inside it).
    /// </summary>
    public static readonly object CallbackCalls = new();

    /// <summary>
    /// The loaded API, or null when no OpenCL library could be loaded; then
    /// <paramref name="reason"/> says why in a sentence.
    /// </summary>
    public static CL? TryGet(out string? reason)
    {
        var (api, why) = Loaded.Value;
        reason = why;
        return api;
    }

    /// <summary>The loaded API; throws <see cref="Accel.Errors.BackendUnavailableException"/> when absent.</summary>
    public static CL Get() =>
        TryGet(out var reason) ?? throw new Accel.Errors.BackendUnavailableException(ClStatus.Backend,
            reason ?? "The OpenCL library could not be loaded.");

    private static (CL? Api, string? Reason) Load()
    {
        var failures = new List<string>();
        if (TryProbe(() => CL.GetApi(), "Silk.NET default search", failures) is { } api)
        {
            return (api, null);
        }

        foreach (var name in FallbackNames)
        {
            if (TryProbe(() => new CL(new DefaultNativeContext(name)), name, failures) is { } byName)
            {
                return (byName, null);
            }
        }

        return (null,
            "No OpenCL library (ICD loader) could be loaded (" + string.Join("; ", failures) + "). " +
            "Install an OpenCL ICD loader and a driver, e.g. 'apt-get install ocl-icd-libopencl1 pocl-opencl-icd'.");
    }

    /// <summary>Creates the API and makes one cheap call, so a lazily bound library fails here.</summary>
    private static unsafe CL? TryProbe(Func<CL> create, string label, List<string> failures)
    {
        CL? api = null;
        try
        {
            api = create();
            uint count;
            int status = api.GetPlatformIDs(0, null, &count);
            // -1001 (no platform) still means the library itself works.
            if (status is 0 or -1001)
            {
                return api;
            }

            failures.Add($"{label}: clGetPlatformIDs returned {ClStatus.NameOf(status)}");
        }
        catch (Exception e) // any failure to bind means "not this library"; the reason is kept
        {
            failures.Add($"{label}: {e.Message.Split('\n')[0].Trim()}");
        }

        api?.Dispose();
        return null;
    }
}
