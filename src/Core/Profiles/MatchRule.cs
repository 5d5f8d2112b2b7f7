namespace Accel.Profiles;

/// <summary>
/// A device as discovery reports it, to be matched against profiles' <see cref="MatchRule"/>s.
/// </summary>
/// <param name="Api">The interface that found it.</param>
/// <param name="Vendor">Vendor or platform name as reported (e.g. OpenCL <c>CL_DEVICE_VENDOR</c>).</param>
/// <param name="Device">Device name as reported (e.g. CUDA device name).</param>
public sealed record DeviceProbe(DeviceApi Api, string? Vendor, string? Device);

/// <summary>
/// An auto-detection rule: the device comes from <see cref="Api"/> and, where given, its vendor and
/// device names contain the given substrings (ordinal, case-insensitive).
/// </summary>
/// <param name="Api">The interface that must report the device.</param>
/// <param name="VendorContains">A substring the vendor name must contain, or null for any.</param>
/// <param name="DeviceContains">A substring the device name must contain, or null for any.</param>
public sealed record MatchRule(DeviceApi Api, string? VendorContains, string? DeviceContains)
{
    /// <summary>How specific the rule is: the number of name conditions (0 to 2). More specific rules win.</summary>
    public int Specificity => (VendorContains is null ? 0 : 1) + (DeviceContains is null ? 0 : 1);

    /// <summary>True when <paramref name="probe"/> satisfies every condition of the rule.</summary>
    public bool Matches(DeviceProbe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return probe.Api == Api
            && Contains(probe.Vendor, VendorContains)
            && Contains(probe.Device, DeviceContains);
    }

    private static bool Contains(string? reported, string? wanted) =>
        wanted is null || (reported?.Contains(wanted, StringComparison.OrdinalIgnoreCase) ?? false);
}
