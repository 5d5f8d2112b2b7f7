namespace Accel.Backends.OpenCL;

/// <summary>Settings of the OpenCL runtime.</summary>
public sealed class OpenClOptions
{
    /// <summary>The environment variable that overrides the default program cache folder.</summary>
    public const string CacheDirectoryVariable = "ACCEL_OPENCL_CACHE";

    /// <summary>The configuration subsection (<c>Accel:Backends:OpenCl</c>).</summary>
    public const string SectionName = "OpenCl";

    /// <summary>
    /// Folder of the on-disk program cache. Null means <c>$XDG_CACHE_HOME/accel/opencl</c>, else
    /// <c>~/.cache/accel/opencl</c> (see <see cref="ResolveCacheDirectory"/>). At the composition root
    /// <c>ACCEL_OPENCL_CACHE</c> sets it (<see cref="WithEnvironment"/>).
    /// </summary>
    public string? CacheDirectory { get; set; }

    /// <summary>Whether compiled program binaries are kept on disk between processes (default true).</summary>
    public bool EnableDiskCache { get; set; } = true;

    /// <summary>Extra options appended to every <c>clBuildProgram</c> (e.g. <c>-cl-fast-relaxed-math</c>).</summary>
    public string? ExtraBuildOptions { get; set; }

    /// <summary>GEMM tile as (M, N, K), one of the shipped tiles; null picks the largest that fits the device.</summary>
    public (int M, int N, int K)? GemmTile { get; set; }

    /// <summary>Threads of the row-reduction groups (16, 64 or 256); null picks the largest that fits the device.</summary>
    public int? RowGroupSize { get; set; }

    /// <summary>Bytes the backend may allocate; null for the device's global memory.</summary>
    public long? MemoryLimitBytes { get; set; }

    /// <summary>These options with <c>ACCEL_OPENCL_CACHE</c> of <paramref name="env"/> applied (an unset variable keeps the folder).</summary>
    /// <param name="env">Where environment variables are read.</param>
    /// <returns>A copy with the variable applied.</returns>
    public OpenClOptions WithEnvironment(Accel.Selection.IAccelEnvironment env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var copy = (OpenClOptions)MemberwiseClone();
        string? folder = env.GetVariable(CacheDirectoryVariable);
        if (!string.IsNullOrWhiteSpace(folder))
        {
            copy.CacheDirectory = folder;
        }

        return copy;
    }

    /// <summary>The cache folder these options select.</summary>
    public string ResolveCacheDirectory()
    {
        if (!string.IsNullOrWhiteSpace(CacheDirectory))
        {
            return Path.GetFullPath(CacheDirectory);
        }

        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = !string.IsNullOrWhiteSpace(xdg)
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(root, "accel", "opencl");
    }
}
