using System.Reflection;
using System.Runtime.InteropServices;
using Accel.Backends;

namespace Accel.Conformance.Reporting;

/// <summary>The machine a report was made on.</summary>
/// <param name="Host">Host name.</param>
/// <param name="Os">Operating system.</param>
/// <param name="Architecture">Process architecture.</param>
/// <param name="Processors">Logical processors.</param>
/// <param name="Runtime">.NET runtime.</param>
/// <param name="AccelVersion">Version of the Accel conformance library.</param>
public sealed record MachineInfo(string Host, string Os, string Architecture, int Processors, string Runtime, string AccelVersion)
{
    /// <summary>This machine.</summary>
    public static MachineInfo Current() => new(Environment.MachineName, RuntimeInformation.OSDescription,
        RuntimeInformation.ProcessArchitecture.ToString(), Environment.ProcessorCount, RuntimeInformation.FrameworkDescription,
        typeof(MachineInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown");

    /// <inheritdoc/>
    public override string ToString() => $"{Host}: {Os}, {Architecture}, {Processors} logical processors, {Runtime}";
}

/// <summary>The results of a conformance run on one device, with what is needed to reproduce it.</summary>
/// <param name="Device">The device id.</param>
/// <param name="DeviceName">Its human-readable name.</param>
/// <param name="Backend">Its provider.</param>
/// <param name="DeviceNote">The provider's note on the device.</param>
/// <param name="Filter">The case filter used.</param>
/// <param name="Date">When the run finished.</param>
/// <param name="Machine">Where it ran.</param>
/// <param name="Results">One result per case, in catalog order.</param>
public sealed record ConformanceReport(string Device, string DeviceName, string Backend, string DeviceNote, string Filter,
    DateTimeOffset Date, MachineInfo Machine, IReadOnlyList<CaseResult> Results)
{
    /// <summary>Cases run.</summary>
    public int Total => Results.Count;

    /// <summary>Cases that passed.</summary>
    public int Ok => Results.Count(r => r.Status == CaseStatus.Ok);

    /// <summary>Cases that failed.</summary>
    public int Failed => Results.Count(r => r.Status == CaseStatus.Fail);

    /// <summary>Cases the device does not support.</summary>
    public int NotSupported => Results.Count(r => r.Status == CaseStatus.NotSupported);

    /// <summary>Total wall time of the cases, in seconds.</summary>
    public double Seconds => Results.Sum(r => r.Milliseconds) / 1000;

    /// <summary>One line: how many cases ran and how they ended.</summary>
    public string Summary =>
        $"{Device}: {Total} cases ran in {Seconds:F1} s: {Ok} OK, {Failed} FAIL, {NotSupported} NOT SUPPORTED";

    /// <summary>Creates a report dated now on this machine.</summary>
    public static ConformanceReport Create(DeviceDescriptor device, string filter, IReadOnlyList<CaseResult> results) =>
        new(device.Id, device.Name, device.Backend, device.Note, filter, DateTimeOffset.UtcNow, MachineInfo.Current(), results);

    /// <summary>A file-name-safe form of a device id (<c>cuda:0</c> becomes <c>cuda-0</c>).</summary>
    public static string FileStem(string device) =>
        string.Concat(device.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.' ? ch : '-'));
}
