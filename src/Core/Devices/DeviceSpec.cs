using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Accel.Errors;
using Accel.Profiles;

namespace Accel.Devices;

/// <summary>
/// A parsed device string: <c>reference</c>, <c>cpu</c>, <c>ilgpu-cpu</c>, <c>cuda</c> /
/// <c>cuda:0</c>, <c>opencl</c> / <c>opencl:1</c>, <c>auto</c>, or a hardware profile id such as
/// <c>ascend-910b</c> (then <see cref="Backend"/> is <c>profile</c> and <see cref="ProfileId"/> holds
/// the id). <see cref="ToString"/> gives back the canonical string, which parses to an equal record.
/// </summary>
/// <param name="Backend">
/// A backend keyword (<c>reference</c>, <c>cpu</c>, <c>ilgpu-cpu</c>, <c>cuda</c>, <c>opencl</c>,
/// <c>auto</c>) or <c>profile</c>.
/// </param>
/// <param name="Ordinal">The device index for <c>cuda</c> and <c>opencl</c>; null for "the first one".</param>
/// <param name="ProfileId">The profile id when <paramref name="Backend"/> is <c>profile</c>; otherwise null.</param>
public sealed record DeviceSpec(string Backend, int? Ordinal = null, string? ProfileId = null)
{
    /// <summary>The <see cref="Backend"/> of a spec that names a hardware profile.</summary>
    public const string ProfileBackend = "profile";

    /// <summary>The accepted forms, for messages and help text.</summary>
    public const string AcceptedForms =
        "Accepted forms: reference, cpu, ilgpu-cpu, cuda, cuda:N, opencl, opencl:N, auto, or a hardware " +
        "profile id such as ascend-910b (lower-case letters, digits and '-'), where N is a device index starting at 0";

    private static readonly string[] Keywords = ["reference", "cpu", "ilgpu-cpu", "cuda", "opencl", "auto"];
    private static readonly string[] KeywordsWithOrdinal = ["cuda", "opencl"];

    /// <summary>The backend keyword, or <c>profile</c>.</summary>
    public string Backend { get; init; } = Check(Backend, Ordinal, ProfileId);

    /// <summary>The device strings that name a backend (a profile id is any other valid id).</summary>
    public static IReadOnlyList<string> BackendKeywords => Keywords;

    /// <summary>The spec <c>auto</c>: walk the fallback chain and take the first device present.</summary>
    public static DeviceSpec Auto { get; } = new("auto");

    /// <summary>True for <c>auto</c>.</summary>
    public bool IsAuto => Backend == "auto";

    /// <summary>True when the spec names a hardware profile.</summary>
    public bool IsProfile => Backend == ProfileBackend;

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

    /// <summary>The canonical device string, e.g. <c>cuda:0</c>, <c>auto</c> or <c>ascend-910b</c>.</summary>
    public override string ToString() =>
        IsProfile ? ProfileId!
        : Ordinal is { } ordinal ? $"{Backend}:{ordinal.ToString(CultureInfo.InvariantCulture)}"
        : Backend;

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
        if (ordinalText is not null)
        {
            if (!KeywordsWithOrdinal.Contains(name))
            {
                return $"The device string '{text}' has an ordinal, but only cuda and opencl take one " +
                       $"(write '{name}').";
            }

            if (OrdinalProblem(ordinalText) is { } problem)
            {
                return $"The device string '{text}' has {problem}.";
            }

            spec = new DeviceSpec(name, int.Parse(ordinalText, NumberStyles.None, CultureInfo.InvariantCulture));
            return null;
        }

        if (Keywords.Contains(name))
        {
            spec = new DeviceSpec(name);
            return null;
        }

        if (name == ProfileBackend)
        {
            return "The device string 'profile' needs a profile id; write the id itself, e.g. 'ascend-910b'.";
        }

        if (!HardwareProfile.IsValidId(name))
        {
            return $"The device string '{text}' is neither a backend nor a valid profile id " +
                   "(profile ids use lower-case letters, digits and '-', and do not start with '-').";
        }

        spec = new DeviceSpec(ProfileBackend, null, name);
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

    private static string Check(string backend, int? ordinal, string? profileId)
    {
        ArgumentException.ThrowIfNullOrEmpty(backend);
        if (backend == ProfileBackend)
        {
            if (!HardwareProfile.IsValidId(profileId) || Keywords.Contains(profileId) || profileId == ProfileBackend)
            {
                throw new ArgumentException(
                    $"A profile device spec needs a valid profile id, not '{profileId}'.", nameof(profileId));
            }

            if (ordinal is not null)
            {
                throw new ArgumentException("A profile device spec takes no ordinal.", nameof(ordinal));
            }

            return backend;
        }

        if (!Keywords.Contains(backend))
        {
            throw new ArgumentException(
                $"Unknown backend '{backend}'; expected one of: {string.Join(", ", Keywords)}, {ProfileBackend}.",
                nameof(backend));
        }

        if (profileId is not null)
        {
            throw new ArgumentException("Only a profile device spec has a profile id.", nameof(profileId));
        }

        if (ordinal is not null && (!KeywordsWithOrdinal.Contains(backend) || ordinal < 0))
        {
            throw new ArgumentOutOfRangeException(nameof(ordinal), ordinal,
                "Only cuda and opencl take an ordinal, and it must not be negative.");
        }

        return backend;
    }
}
