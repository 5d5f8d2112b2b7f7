using System.Runtime.InteropServices;

namespace Accel.Peers;

/// <summary>
/// The prebuilt ggml libraries fetched by <c>bench/fetch-ggml.sh</c>: <c>libggml-base.so</c> (tensors,
/// graphs, allocator, quantisers) and the CPU backend variant this processor scores highest. Every
/// <c>libggml-cpu-*.so</c> exports <c>ggml_backend_score()</c> (0 = unusable here); all are loaded,
/// the best one is kept and the others are released, as ggml's own backend loader does. The two
/// libraries stay loaded for the rest of the process (ggml keeps global state in them).
/// </summary>
internal sealed unsafe class GgmlLibrary
{
    /// <summary>Where the fetch script puts the libraries, relative to the repository root.</summary>
    public const string RelativeDirectory = "bench/.ggml/package/bins/linux-x64";

    /// <summary>The command that fetches them.</summary>
    public const string FetchCommand = "bench/fetch-ggml.sh";

    private readonly IntPtr _base, _cpu;

    private GgmlLibrary(string directory, IntPtr baseLib, IntPtr cpuLib, string variant, int score, string others)
    {
        Directory = directory;
        _base = baseLib;
        _cpu = cpuLib;
        Variant = variant;
        Score = score;
        OtherScores = others;
        Api = new GgmlApi(name => NativeLibrary.GetExport(_base, name), name => NativeLibrary.GetExport(_cpu, name));
        Version = Marshal.PtrToStringUTF8(Api.Version()) ?? "?";
        Commit = Marshal.PtrToStringUTF8(Api.Commit()) ?? "?";
        GgmlLayout.Verify(Api);
    }

    /// <summary>The folder the libraries were loaded from.</summary>
    public string Directory { get; }

    /// <summary>The chosen CPU variant (zen4, icelake, haswell, ...).</summary>
    public string Variant { get; }

    /// <summary>Its <c>ggml_backend_score()</c>.</summary>
    public int Score { get; }

    /// <summary>The other variants' scores, for the notes.</summary>
    public string OtherScores { get; }

    /// <summary>ggml's version string (<c>ggml_version()</c>).</summary>
    public string Version { get; }

    /// <summary>ggml's commit (<c>ggml_commit()</c>).</summary>
    public string Commit { get; }

    /// <summary>The bound entry points.</summary>
    public GgmlApi Api { get; }

    /// <summary>A one-line description for the run's notes.</summary>
    public string Describe() => $"ggml {Version} ({Commit}), cpu variant {Variant} (score {Score}; others {OtherScores})";

    /// <summary>Finds the library folder above the working directory (the repository root) or next to the program.</summary>
    public static string Locate()
    {
        foreach (string start in new[] { System.IO.Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, RelativeDirectory);
                if (File.Exists(Path.Combine(candidate, "libggml-base.so")))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException(
            $"The ggml libraries are not in {RelativeDirectory} (looked above {System.IO.Directory.GetCurrentDirectory()}); run {FetchCommand}.");
    }

    /// <summary>Loads libggml-base.so, then every CPU variant, and keeps the best-scoring one.</summary>
    public static GgmlLibrary Load(string directory)
    {
        // The base library first: the variants name it as a dependency (by soname), and the
        // dynamic loader then reuses this copy instead of searching for another.
        var baseLib = NativeLibrary.Load(Path.Combine(directory, "libggml-base.so"));
        var scores = new List<(string Variant, IntPtr Handle, int Score)>();
        foreach (string path in System.IO.Directory.GetFiles(directory, "libggml-cpu-*.so").Order(StringComparer.Ordinal))
        {
            string variant = Path.GetFileNameWithoutExtension(path)["libggml-cpu-".Length..];
            if (!NativeLibrary.TryLoad(path, out var handle))
            {
                continue;
            }

            int score = NativeLibrary.TryGetExport(handle, "ggml_backend_score", out var fn) ? ((delegate* unmanaged<int>)fn)() : 0;
            scores.Add((variant, handle, score));
        }

        var best = scores.Where(s => s.Score > 0).OrderByDescending(s => s.Score).FirstOrDefault();
        foreach (var s in scores.Where(s => s.Handle != best.Handle))
        {
            NativeLibrary.Free(s.Handle);
        }

        if (best.Handle == IntPtr.Zero)
        {
            NativeLibrary.Free(baseLib);
            throw new InvalidOperationException(
                $"No ggml CPU variant in {directory} can run on this processor (scores: {string.Join(", ", scores.Select(s => $"{s.Variant} {s.Score}"))}).");
        }

        string others = string.Join(", ", scores.Where(s => s.Handle != best.Handle).OrderByDescending(s => s.Score).Select(s => $"{s.Variant} {s.Score}"));
        return new GgmlLibrary(directory, baseLib, best.Handle, best.Variant, best.Score, others);
    }
}
