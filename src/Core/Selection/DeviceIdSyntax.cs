using Accel.Devices;

namespace Accel.Selection;

/// <summary>
/// The syntax of a device string as the selector accepts it (<see cref="DeviceSpec"/>): a device name
/// claimed by a registered provider, optionally followed by <c>:N</c>, or <c>auto</c>.
/// </summary>
internal static class DeviceIdSyntax
{
    /// <summary>What a user may write, for error messages.</summary>
    public const string Forms = "a device name as 'accel devices' lists it (e.g. cpu, cuda:0, opencl, ascend-910b) or auto";

    /// <summary>Trims and lower-cases <paramref name="text"/>; null when it is null or blank.</summary>
    public static string? Normalize(string? text) =>
        string.IsNullOrWhiteSpace(text) ? null : text.Trim().ToLowerInvariant();

    /// <summary>True when <paramref name="id"/> (already normalised) is a well-formed device string (<see cref="DeviceSpec"/>).</summary>
    public static bool IsWellFormed(string id) => DeviceSpec.TryParse(id, out _, out _);

    /// <summary>True when a fallback-chain entry matches the device id: equal, or equal up to <c>:N</c>.</summary>
    public static bool Matches(string entry, string deviceId) =>
        DeviceSpec.TryParse(entry, out var spec, out _) && spec.Matches(deviceId);
}
