using Accel.Devices;

namespace Accel.Selection;

/// <summary>
/// The syntax of a device string as the selector accepts it: a lower-case name of letters,
/// digits, '.', '_' and '-', optionally followed by <c>:N</c> (<c>reference</c>, <c>ilgpu-cpu</c>,
/// <c>cuda:0</c>, <c>opencl:1</c>, a profile id such as <c>ascend-910b</c>, or <c>auto</c>).
/// </summary>
internal static class DeviceIdSyntax
{
    /// <summary>What a user may write, for error messages.</summary>
    public const string Forms = "reference, cpu, ilgpu-cpu, cuda[:N], opencl[:N], auto or a hardware profile id";

    /// <summary>Trims and lower-cases <paramref name="text"/>; null when it is null or blank.</summary>
    public static string? Normalize(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : text.Trim().ToLowerInvariant();

    /// <summary>True when <paramref name="id"/> (already normalised) is a well-formed device string (<see cref="DeviceSpec"/>).</summary>
    public static bool IsWellFormed(string id) => DeviceSpec.TryParse(id, out _, out _);

    /// <summary>True when a fallback-chain entry matches the device id: equal, or equal up to <c>:N</c>.</summary>
    public static bool Matches(string entry, string deviceId) =>
        deviceId == entry || (deviceId.StartsWith(entry, StringComparison.Ordinal)
            && deviceId.Length > entry.Length && deviceId[entry.Length] == ':');
}
