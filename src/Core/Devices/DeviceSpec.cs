using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Accel.Errors;
using Accel.Profiles;

namespace Accel.Devices;

/// <summary>
/// A parsed device string: a device name, optionally followed by <c>:N</c> (<c>cpu</c>, <c>cuda:0</c>,
/// <c>opencl</c>, <c>ascend-910b</c>, <c>auto</c>). Core knows no device names except <c>auto</c>: each
/// backend provider claims its own names (<see cref="Backends.IBackendProvider.Claims"/>) and resolves a
/// spec to one of its devices. <see cref="ToString"/> gives back the canonical string, which parses to
/// an equal record.
/// </summary>
/// <param name="Name">The device name: lower-case letters, digits and '-', not starting with '-'.</param>
/// <param name="Ordinal">The device index (<c>cuda:1</c>); null for "the provider's first device of that name".</param>
public sealed record DeviceSpec(string Name, int? Ordinal = null)
{
    /// <summary>The device string that asks the selector to choose (<c>auto</c>).</summary>
    public const string AutoName = "auto";

    /// <summary>The accepted forms, for messages and help text.</summary>
    public const string AcceptedForms =
        "Accepted forms: a device name as 'accel devices' lists it (e.g. reference, cpu, ilgpu-cpu, cuda, opencl, " +
        "or a hardware profile id such as ascend-910b: lower-case letters, digits and '-'), optionally followed by :N " +
        "where N is a device index starting at 0 (cuda:0, opencl:1), or auto";

    /// <summary>The device name.</summary>
    public string Name { get; init; } = Check(Name, Ordinal);

    /// <summary>The spec <c>auto</c>: let the selector choose.</summary>
    public static DeviceSpec Auto { get; } = new(AutoName);

    /// <summary>True for <c>auto</c>.</summary>
    public bool IsAuto => Name == AutoName && Ordinal is null;

    /// <summary>Parses a device string.</summary>
    /// <exception cref="InvalidInputException">
    /// The text is not a valid device string; the message says why and lists the accepted forms.
    /// </exception>
    public static DeviceSpec Parse(string text) =>
        TryParse(text, out var spec, out var error) ? spec : throw new InvalidInputException(error);

    /// <summary>Parses a device string without throwing.</summary>
    /// <param name="text">The device string.</param>
    /// <param name="spec">The parsed spec, or null on failure.</param>
    /// <param name="error">
    /// Null on success; otherwise a sentence that says what is wrong and lists the accepted forms.
    /// </param>
    /// <returns>True when <paramref name="text"/> is a valid device string.</returns>
    public static bool TryParse(
        [NotNullWhen(true)] string? text,
        [NotNullWhen(true)] out DeviceSpec? spec,
        [NotNullWhen(false)] out string? error)
    {
        spec = null;
        error = Problem(text, out var parsed);
        if (error is not null)
        {
            error += " " + AcceptedForms + ".";
            return false;
        }

        spec = parsed!;
        return true;
    }

    /// <summary>True when <paramref name="deviceId"/> is this spec's device: equal, or of this name when the spec has no ordinal.</summary>
    /// <param name="deviceId">A listed device id, e.g. <c>cuda:1</c>.</param>
    public bool Matches(string deviceId) =>
        TryParse(deviceId, out var other, out _) && other.Name == Name && (Ordinal is null || other.Ordinal == Ordinal);

    /// <summary>The canonical device string, e.g. <c>cuda:0</c>, <c>auto</c> or <c>ascend-910b</c>.</summary>
    public override string ToString() =>
        Ordinal is { } ordinal ? $"{Name}:{ordinal.ToString(CultureInfo.InvariantCulture)}" : Name;

    private static string? Problem(string? text, out DeviceSpec? spec)
    {
        spec = null;
        if (string.IsNullOrEmpty(text))
        {
            return "The device string is empty.";
        }

        if (text.Any(char.IsWhiteSpace))
        {
            var trimmed = string.Concat(text.Where(c => !char.IsWhiteSpace(c)));
            return $"The device string '{text}' contains whitespace{Suggest(trimmed)}.";
        }

        if (text.Any(char.IsUpper))
        {
            return $"The device string '{text}' has upper-case letters; device strings are lower case" +
                   $"{Suggest(text.ToLowerInvariant())}.";
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? text : text[..colon];
        var ordinalText = colon < 0 ? null : text[(colon + 1)..];
        if (!HardwareProfile.IsValidId(name))
        {
            return $"The device string '{text}' does not start with a valid device name " +
                   "(lower-case letters, digits and '-', not starting with '-').";
        }

        if (ordinalText is null)
        {
            spec = new DeviceSpec(name);
            return null;
        }

        if (name == AutoName)
        {
            return $"The device string '{text}' has an ordinal, but auto takes none (write 'auto').";
        }

        if (OrdinalProblem(ordinalText) is { } problem)
        {
            return $"The device string '{text}' has {problem}.";
        }

        spec = new DeviceSpec(name, int.Parse(ordinalText, NumberStyles.None, CultureInfo.InvariantCulture));
        return null;
    }

    private static string? OrdinalProblem(string ordinalText)
    {
        if (ordinalText.Length == 0)
        {
            return "an empty ordinal after ':'; write a device index such as 0";
        }

        if (ordinalText.StartsWith('-') && ordinalText.Length > 1 && ordinalText[1..].All(char.IsAsciiDigit))
        {
            return $"a negative ordinal '{ordinalText}'; device indices start at 0";
        }

        if (!ordinalText.All(char.IsAsciiDigit))
        {
            return $"a non-numeric ordinal '{ordinalText}'; write a device index such as 0";
        }

        if (ordinalText.Length > 1 && ordinalText[0] == '0')
        {
            var canonical = ordinalText.TrimStart('0');
            var fixedText = canonical.Length == 0 ? "0" : canonical;
            return $"a leading zero in the ordinal '{ordinalText}'; write '{fixedText}'";
        }

        return int.TryParse(ordinalText, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            ? null
            : $"an ordinal '{ordinalText}' that is too large";
    }

    private static string Suggest(string candidate) =>
        Problem(candidate, out var spec) is null && spec is not null ? $" (did you mean '{spec}'?)" : string.Empty;

    private static string Check(string name, int? ordinal)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!HardwareProfile.IsValidId(name))
        {
            throw new ArgumentException(
                $"'{name}' is not a device name (lower-case letters, digits and '-', not starting with '-').", nameof(name));
        }

        if (ordinal is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ordinal), ordinal, "A device index must not be negative.");
        }

        if (ordinal is not null && name == AutoName)
        {
            throw new ArgumentException("auto takes no ordinal.", nameof(ordinal));
        }

        return name;
    }
}
