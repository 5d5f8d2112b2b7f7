using Accel.Selection;
using Microsoft.Extensions.Options;

namespace Accel.Hosting;

/// <summary>
/// Checks <see cref="AccelOptions"/> when the host starts (<c>ValidateOnStart</c>), with one
/// sentence per problem that names the key, the bad value and what to write instead.
/// </summary>
public sealed class AccelOptionsValidator : IValidateOptions<AccelOptions>
{
    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, AccelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>Every problem of <paramref name="options"/>; empty when they are valid.</summary>
    /// <param name="options">The options.</param>
    /// <returns>One sentence per problem.</returns>
    public static IReadOnlyList<string> Problems(AccelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        string section = AccelOptions.SectionName;
        if (options.Device is not null)
        {
            string? device = DeviceIdSyntax.Normalize(options.Device);
            if (device is null || !DeviceIdSyntax.IsWellFormed(device))
            {
                problems.Add($"{section}:Device '{options.Device}' is not a device string; use {DeviceIdSyntax.Forms}, or remove the key for auto.");
            }
        }

        if (options.FallbackChain is { } chain)
        {
            if (chain.Count == 0)
            {
                problems.Add($"{section}:FallbackChain is empty; list at least one device, or remove the key to let auto rank the devices by kind " +
                    $"({Backends.AutoRanking.Order}).");
            }

            for (int i = 0; i < chain.Count; i++)
            {
                string? entry = DeviceIdSyntax.Normalize(chain[i]);
                if (entry is null || !DeviceIdSyntax.IsWellFormed(entry) || entry == DeviceSelector.Auto)
                {
                    problems.Add($"{section}:FallbackChain[{i}] '{chain[i]}' is not a device or device prefix; use {DeviceIdSyntax.Forms.Replace(", auto", "", StringComparison.Ordinal)}.");
                }
            }
        }

        for (int i = 0; i < options.ProfileDirectories.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.ProfileDirectories[i]))
            {
                problems.Add($"{section}:ProfileDirectories[{i}] is blank; give a folder path or remove the entry.");
            }
        }

        if (options.PlanCacheSize < 1)
        {
            problems.Add($"{section}:PlanCacheSize is {options.PlanCacheSize}; it must be at least 1 (default 4).");
        }

        return problems;
    }
}
