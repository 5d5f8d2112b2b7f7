using Accel.Moe;
using Accel.Types;

namespace Accel.Peers;

/// <summary>
/// How the ggml peer runs: <paramref name="Threads"/> threads, weights repacked for the processor
/// (<paramref name="Repack"/>), the thread pool's polling level (<paramref name="Poll"/>, 0..100) and
/// whether its workers are kept off the caller's processor before each graph (<paramref name="Apart"/>),
/// as the cpu backend's pool keeps its own (<c>CpuBackendOptions.AvoidCaller</c>).
/// </summary>
internal sealed record GgmlSettings(int Threads, bool Repack, int Poll, bool Apart);

/// <summary>The ggml engines of a run and the Accel format each one is matched with.</summary>
internal static class GgmlEngines
{
    /// <summary>Every format, in the order the engines are listed.</summary>
    public static readonly (string Name, GgmlFormat Format, SyntheticFormat Accel, string AccelName)[] Formats =
    [
        ("f32", GgmlFormat.F32, SyntheticFormat.F32, "f32"),
        ("bf16", GgmlFormat.BF16, SyntheticFormat.BF16, "bf16"),
        ("q8_0", GgmlFormat.Q8_0, SyntheticFormat.Fp8, "fp8"),
        ("mxfp4", GgmlFormat.MXFP4, SyntheticFormat.Fp4, "fp4"),
    ];

    /// <summary>The formats named in <c>--ggml-formats</c> (all when empty).</summary>
    public static List<(string Name, GgmlFormat Format, SyntheticFormat Accel, string AccelName)> Parse(string list)
    {
        var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = names.Where(n => !Formats.Any(f => f.Name == n)).ToArray();
        if (unknown.Length > 0)
        {
            throw new ArgumentException($"--ggml-formats takes {string.Join(", ", Formats.Select(f => f.Name))}; not {string.Join(", ", unknown)}.");
        }

        return [.. Formats.Where(f => names.Length == 0 || names.Contains(f.Name))];
    }

    /// <summary>The Accel engine a ggml engine is matched with (<c>ggml-q8_0</c> → <c>accel-cpu-fp8</c>), or null for other engines.</summary>
    public static string? MatchedAccel(string engine) =>
        Formats.Where(f => engine == $"ggml-{f.Name}").Select(f => $"accel-cpu-{f.AccelName}").FirstOrDefault();

    /// <summary>
    /// Builds one ggml engine per format from the Accel weights of its matched format (taken from
    /// <paramref name="weightsOf"/>); a format that fails is reported in <paramref name="skipped"/>.
    /// Throws when the libraries cannot be loaded at all.
    /// </summary>
    public static List<Engine> Create(MoeConfig config, GgmlSettings settings,
        IEnumerable<(string Name, GgmlFormat Format, SyntheticFormat Accel, string AccelName)> formats,
        Func<SyntheticFormat, Dictionary<string, HostTensor>> weightsOf, List<string> skipped)
    {
        try
        {
            var library = GgmlPeer.LoadLibrary();
            Program.Log($"ggml: {library.Describe()} from {library.Directory}");
        }
        catch (Exception e) when (e is FileNotFoundException or DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            string hint = e.Message.Contains(GgmlLibrary.FetchCommand, StringComparison.Ordinal) ? "" : $" (the libraries come from {GgmlLibrary.FetchCommand})";
            throw new InvalidOperationException(e.Message + hint, e);
        }

        var engines = new List<Engine>();
        foreach (var f in formats)
        {
            try
            {
                var peer = new GgmlPeer(config, weightsOf(f.Accel), settings, f.Format);
                engines.Add(new Engine($"ggml-{f.Name}", (x, t) => peer.Run(x, t), peer, peer.Note));
                Program.Log($"ggml-{f.Name}: {peer.Note}");
            }
            catch (Exception e) when (e is InvalidOperationException or NotSupportedException or ArgumentException)
            {
                skipped.Add($"ggml-{f.Name}: {e.GetType().Name}: {e.Message}");
                Program.Log($"ggml-{f.Name} could not be built: {e.Message}");
            }
        }

        return engines;
    }
}
