using Accel.Backends;
using Accel.Errors;
using Accel.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Accel.Selection;

/// <summary>
/// Resolves the device to run on. Precedence: an explicit argument (API call, CLI <c>--device</c>),
/// then the environment variable <c>ACCEL_DEVICE</c>, then the configuration key
/// <c>Accel:Device</c>, then <c>auto</c>, which takes the first usable device of the fallback chain.
/// A named device that is unknown or absent is an error listing what is present; nothing falls back
/// silently. Every choice is logged with its reason.
/// </summary>
public sealed class DeviceSelector
{
    /// <summary>The environment variable that names the device.</summary>
    public const string DeviceVariable = "ACCEL_DEVICE";

    /// <summary>The environment variable that turns strict mode on (<c>1</c>) or off (<c>0</c>).</summary>
    public const string StrictVariable = "ACCEL_STRICT";

    /// <summary>The device string that asks for the fallback chain.</summary>
    public const string Auto = "auto";

    private readonly BackendRegistry _registry;
    private readonly AccelOptions _options;
    private readonly IAccelEnvironment _environment;
    private readonly ILogger _logger;

    /// <summary>Creates a selector over the devices of <paramref name="registry"/>.</summary>
    /// <param name="registry">The registered providers and their devices.</param>
    /// <param name="options">Configured device, strict mode and fallback chain.</param>
    /// <param name="environment">Where <c>ACCEL_DEVICE</c> and <c>ACCEL_STRICT</c> are read (default: the process).</param>
    /// <param name="logger">Receives the choice and its reason.</param>
    public DeviceSelector(BackendRegistry registry, AccelOptions options, IAccelEnvironment? environment = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(options);
        _registry = registry;
        _options = options;
        _environment = environment ?? ProcessEnvironment.Instance;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>
    /// The fallback chain configured in <c>Accel:FallbackChain</c>, or null when none is: then
    /// <c>auto</c> ranks the listed devices by kind (<see cref="AutoRank"/>: a GPU first, then the
    /// native cpu backend, then OpenCL CPU devices, then simulators, then the reference). A configured
    /// empty chain stays empty, so auto fails instead of guessing.
    /// </summary>
    public IReadOnlyList<string>? FallbackChain =>
        _options.FallbackChain is { } chain ? [.. chain.Select(DeviceIdSyntax.Normalize).OfType<string>()] : null;

    /// <summary>Chooses the device.</summary>
    /// <param name="device">The explicitly named device (API argument or <c>--device</c>), or null.</param>
    /// <returns>The usable device, where the choice came from, and why.</returns>
    /// <exception cref="BackendUnavailableException">A named device is unknown or absent, or auto finds nothing usable.</exception>
    /// <exception cref="ConfigException">A device string is malformed.</exception>
    public DeviceSelection Select(string? device = null)
    {
        var levels = new (SelectionSource Source, string Label, string? Raw)[]
        {
            (SelectionSource.Argument, "the explicit argument (--device or the API call)", device),
            (SelectionSource.Environment, $"the environment variable {DeviceVariable}", _environment.GetVariable(DeviceVariable)),
            (SelectionSource.Configuration, $"the configuration key {AccelOptions.SectionName}:Device", _options.Device),
        };

        int level = Array.FindIndex(levels, l => DeviceIdSyntax.Normalize(l.Raw) is not null);
        string overridden = level < 0 ? "" : Overridden(levels.Skip(level + 1));
        DeviceSelection selection;
        if (level < 0)
        {
            selection = WalkChain(SelectionSource.Auto,
                $"no device was named (--device, {DeviceVariable}, {AccelOptions.SectionName}:Device), so auto");
        }
        else
        {
            var (source, label, raw) = levels[level];
            string id = DeviceIdSyntax.Normalize(raw)!;
            if (!Devices.DeviceSpec.TryParse(id, out _, out string? problem))
            {
                throw new ConfigException($"The device '{raw}' from {label} is not a device string: {problem} Use {DeviceIdSyntax.Forms}.");
            }

            selection = id == Auto
                ? WalkChain(source, $"{label} is 'auto'{overridden}, so auto")
                : Named(source, label, id, overridden);
        }

        _logger.LogInformation("Accel device {Device} selected ({Source}): {Reason}", selection.DeviceId, selection.Source, selection.Reason);
        return selection;
    }

    /// <summary>
    /// Resolves strict mode: an explicit argument, then <c>ACCEL_STRICT</c> (<c>1</c>/<c>true</c> or
    /// <c>0</c>/<c>false</c>), then <c>Accel:Strict</c>.
    /// </summary>
    /// <param name="strict">The explicit choice (API argument or <c>--strict</c>), or null.</param>
    /// <returns>True when an op fallback must be an error at plan time.</returns>
    /// <exception cref="ConfigException"><c>ACCEL_STRICT</c> holds something else.</exception>
    public bool ResolveStrict(bool? strict = null)
    {
        string source = "the explicit argument";
        bool result;
        if (strict is bool given)
        {
            result = given;
        }
        else if (ParseStrictVariable() is bool fromEnvironment)
        {
            result = fromEnvironment;
            source = StrictVariable;
        }
        else
        {
            result = _options.Strict;
            source = $"{AccelOptions.SectionName}:Strict";
        }

        _logger.LogDebug("Accel strict mode {State} (from {Source})", result ? "on" : "off", source);
        return result;
    }

    private bool? ParseStrictVariable()
    {
        string? raw = _environment.GetVariable(StrictVariable);
        return raw?.Trim().ToLowerInvariant() switch
        {
            null or "" => null,
            "1" or "true" => true,
            "0" or "false" => false,
            _ => throw new ConfigException(
                $"The environment variable {StrictVariable} is '{raw}'; set it to 1 (or true) for strict mode, 0 (or false) to turn it off, or unset it."),
        };
    }

    private DeviceSelection Named(SelectionSource source, string label, string id, string overridden)
    {
        DeviceDescriptor descriptor;
        try
        {
            descriptor = _registry.Require(id);
        }
        catch (BackendUnavailableException e)
        {
            throw new BackendUnavailableException(id, $"{e.Message} The device was named by {label}.");
        }

        return new DeviceSelection(descriptor, source, $"'{id}' was named by {label}{overridden}.", IsAuto: false);
    }

    private DeviceSelection WalkChain(SelectionSource source, string why) =>
        FallbackChain is { } chain ? WalkConfiguredChain(source, why, chain) : Rank(source, why);

    private DeviceSelection Rank(SelectionSource source, string why)
    {
        var devices = _registry.Devices;
        var ranked = devices.Where(d => d.IsUsable && d.Rank != AutoRank.Never)
            .Select((d, order) => (Device: d, Order: order))
            .OrderBy(d => d.Device.Rank).ThenBy(d => d.Order).Select(d => d.Device).ToList();
        if (ranked.Count == 0)
        {
            throw new BackendUnavailableException(Auto,
                $"Auto found no usable device to rank. Devices here: {Describe(devices)}. Register a provider (e.g. AddReference()), " +
                $"or name an emulated device with --device or {DeviceVariable}.");
        }

        var chosen = ranked[0];
        var better = devices.Where(d => !d.IsUsable && d.Rank < chosen.Rank).Select(d => $"{d.Id} (absent: {d.Note})").ToList();
        string reason = $"{why} ranked the usable devices by kind ({AutoRanking.Order}) " +
            $"and took {chosen.Id} ({chosen.Rank})" + (better.Count > 0 ? $"; skipped {string.Join("; ", better)}." : ".");
        return new DeviceSelection(chosen, source, reason, IsAuto: true);
    }

    private static string Describe(IReadOnlyList<DeviceDescriptor> devices) =>
        devices.Count == 0 ? "none" : string.Join(", ", devices.Select(d => $"{d.Id} ({d.Status.ToString().ToLowerInvariant()})"));

    private DeviceSelection WalkConfiguredChain(SelectionSource source, string why, IReadOnlyList<string> chain)
    {
        var devices = _registry.Devices;
        var missing = new List<string>();
        var absent = new List<string>();
        foreach (string entry in chain)
        {
            var matches = devices.Where(d => DeviceIdSyntax.Matches(entry, d.Id)).ToList();
            var usable = matches.FirstOrDefault(d => d.IsUsable);
            absent.AddRange(matches.TakeWhile(d => !d.IsUsable).Select(d => $"{d.Id} (absent: {d.Note})"));
            if (usable is not null)
            {
                string reason = $"{why} took the first usable device of the fallback chain [{string.Join(", ", chain)}]" +
                    (missing.Count + absent.Count > 0 ? $"; skipped {Skipped(missing, absent)}." : ".");
                return new DeviceSelection(usable, source, reason, IsAuto: true);
            }

            if (matches.Count == 0)
            {
                missing.Add(entry);
            }
        }

        string present = string.Join(", ", devices.Where(d => d.IsUsable).Select(d => d.Id));
        throw new BackendUnavailableException(Auto,
            $"No device of the fallback chain [{string.Join(", ", chain)}] is usable here: {Skipped(missing, absent)}. " +
            $"Devices here: {(present.Length > 0 ? present : "none")}. Name one with --device or {DeviceVariable}, " +
            $"or add it to {AccelOptions.SectionName}:FallbackChain.");
    }

    private static string Skipped(List<string> missing, List<string> absent)
    {
        var parts = new List<string>(absent);
        if (missing.Count > 0)
        {
            parts.Add($"{string.Join(", ", missing)} (no such device registered)");
        }

        return string.Join("; ", parts);
    }

    private static string Overridden(IEnumerable<(SelectionSource Source, string Label, string? Raw)> lower)
    {
        var set = lower.Where(l => DeviceIdSyntax.Normalize(l.Raw) is not null)
            .Select(l => $"{(l.Source == SelectionSource.Environment ? DeviceVariable : $"{AccelOptions.SectionName}:Device")}='{l.Raw!.Trim()}'")
            .ToList();
        return set.Count == 0 ? "" : $" (overriding {string.Join(" and ", set)})";
    }
}
