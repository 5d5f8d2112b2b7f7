using Accel.Errors;
using Accel.Moe;

namespace Accel.Cli.Bench;

/// <summary>The layer family and default shape <c>accel bench</c> measures (<c>--preset</c>).</summary>
public enum BenchPreset
{
    /// <summary>A DeepSeek-V3-style layer (sigmoid scores, groups) of a modest default size: <c>--preset default</c>.</summary>
    Default,
    /// <summary>The DeepSeek-V4-Flash layer (<see cref="MoePresets.DeepSeekV4Flash"/>) at its first scored layer: <c>--preset v4-flash</c>.</summary>
    V4Flash,
}

/// <summary>The sizes and run settings a preset gives when their flags are left out.</summary>
/// <param name="Hidden">Hidden size D.</param>
/// <param name="ExpertWidth">Routed-expert intermediate size I.</param>
/// <param name="Experts">Routed experts E.</param>
/// <param name="TopK">Experts per token K.</param>
/// <param name="SharedExperts">Shared experts (shared width = this times I).</param>
/// <param name="Groups">Expert groups G.</param>
/// <param name="TopKGroups">Groups kept per token.</param>
/// <param name="Tokens">Token counts.</param>
/// <param name="Weights">Weight format.</param>
public sealed record BenchDefaults(int Hidden, int ExpertWidth, int Experts, int TopK, int SharedExperts, int Groups, int TopKGroups,
    IReadOnlyList<int> Tokens, SyntheticFormat Weights);

/// <summary>Names and defaults of the bench presets.</summary>
public static class BenchPresets
{
    /// <summary>The names <c>--preset</c> takes.</summary>
    public static IReadOnlyList<string> Names { get; } = ["default", "v4-flash"];

    /// <summary>The <c>--preset</c> name of <paramref name="preset"/>.</summary>
    public static string Name(BenchPreset preset) => Names[(int)preset];

    /// <summary>Parses a preset name (case-insensitive).</summary>
    /// <exception cref="InvalidInputException">The name is not a preset.</exception>
    public static BenchPreset Parse(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "default" => BenchPreset.Default,
        "v4-flash" or "deepseek-v4-flash" => BenchPreset.V4Flash,
        _ => throw new InvalidInputException($"--preset '{name}' is not a bench preset; use one of {string.Join(", ", Names)}."),
    };

    /// <summary>The defaults of <paramref name="preset"/>.</summary>
    public static BenchDefaults Defaults(BenchPreset preset)
    {
        if (preset == BenchPreset.V4Flash)
        {
            var c = MoePresets.DeepSeekV4Flash;
            return new BenchDefaults(c.Hidden, c.ExpertWidth, c.Experts, c.TopK, c.SharedWidth / c.ExpertWidth, c.Groups, c.TopGroups,
                [1, 16, 128], SyntheticFormat.Fp4);
        }

        return new BenchDefaults(1024, 512, 64, 6, 2, 8, 4, [1, 16, 128, 1024], SyntheticFormat.F32);
    }
}
