using System.Text.RegularExpressions;

namespace Accel.Conformance.Tests;

/// <summary>
/// The declared "not supported" cases: the only cases the conformance suite may skip. A case that a
/// device does not support and that no entry declares fails (declare it with the reason, or implement
/// it); a declared case that now runs fails too (remove the entry), so the list never goes stale.
/// </summary>
public static class KnownGaps
{
    /// <summary>One declaration: devices and cases as globs (<c>*</c> matches anything), and why.</summary>
    /// <param name="Devices">Device ids, e.g. <c>ascend-*</c>.</param>
    /// <param name="Cases">Case ids, e.g. <c>ActQuantFp8(*</c>.</param>
    /// <param name="Reason">Why the device cannot run them.</param>
    public sealed record Gap(string Devices, string Cases, string Reason)
    {
        /// <summary>True when the gap covers <paramref name="deviceId"/> and <paramref name="caseId"/>.</summary>
        public bool Covers(string deviceId, string caseId) => Glob(Devices).IsMatch(deviceId) && Glob(Cases).IsMatch(caseId);

        private static Regex Glob(string pattern) =>
            new("^" + string.Join(".*", pattern.Split('*').Select(Regex.Escape)) + "$", RegexOptions.CultureInvariant);
    }

    /// <summary>Every declared gap.</summary>
    public static IReadOnlyList<Gap> All { get; } =
    [
        new("ascend-*", "ActQuantFp8(*", "the profile lacks f8e4m3 and converts only weights, so an f8e4m3 activation output cannot be produced"),
        new("cambricon-*", "ActQuantFp8(*", "the profile lacks f8e4m3 and converts only weights, so an f8e4m3 activation output cannot be produced"),
        new("hygon-*", "ActQuantFp8(*", "the profile lacks f8e4m3 and converts only weights, so an f8e4m3 activation output cannot be produced"),
    ];

    /// <summary>The gap that declares the case on the device, or null.</summary>
    public static Gap? Find(string deviceId, string caseId) => All.FirstOrDefault(g => g.Covers(deviceId, caseId));
}
