using System.Globalization;
using Accel.Backends;
using Accel.Backends.Cpu;
using Accel.Backends.Shims;
using Accel.Errors;
using Accel.Profiles;
using Accel.Types;

namespace Accel.Cli.Bench;

/// <summary>
/// Chooses the roofline of an <c>accel bench</c> run, figure by figure: a figure given on the
/// command line wins; otherwise the device's hardware profile gives it (a shim's own profile, or
/// the profile matching a GPU); otherwise, for a device that runs on this machine's processor, the
/// <see cref="MachineProbe"/> measures it with the backend's thread count. A device that is none of
/// these has no roofline, and the error says which flags to pass.
/// </summary>
public static class RooflineResolver
{
    /// <summary>The flag that gives the compute peak.</summary>
    public const string PeakFlag = "--peak-gflops";

    /// <summary>The flag that gives the memory bandwidth.</summary>
    public const string BandwidthFlag = "--bandwidth-gbps";

    /// <summary>Checks the figures given in <paramref name="o"/>: each must be finite and above 0 where present.</summary>
    /// <exception cref="InvalidInputException">A figure is 0, negative, infinite or NaN.</exception>
    public static void CheckGiven(BenchOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        Check(o.PeakGflops, PeakFlag, "the device's fp32 peak in GFLOP/s");
        Check(o.BandwidthGbps, BandwidthFlag, "its memory bandwidth in GB/s");
    }

    /// <summary>The roofline for a run of <paramref name="o"/> on <paramref name="device"/>.</summary>
    /// <param name="o">The bench options (given figures, device id, threads, probe window).</param>
    /// <param name="device">The opened device.</param>
    /// <param name="log">Receives a line when the machine is probed.</param>
    /// <param name="catalog">Profiles to match a GPU against (default: the shipped ones, loaded only when needed).</param>
    /// <exception cref="InvalidInputException">A given figure is invalid.</exception>
    /// <exception cref="AccelException">A figure is neither given, nor in the device's profile, nor measurable here.</exception>
    public static BenchRoofline Resolve(BenchOptions o, IBackend device, Action<string>? log = null, ProfileCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        CheckGiven(o);
        var peak = o.PeakGflops is { } p ? new RooflineFigure(p, $"given with {PeakFlag}") : null;
        var bandwidth = o.BandwidthGbps is { } b ? new RooflineFigure(b, $"given with {BandwidthFlag}") : null;
        if (peak is not null && bandwidth is not null)
        {
            return new BenchRoofline(peak, bandwidth);
        }

        var d = device.Device;
        if (ProfileOf(device, catalog) is { } profile)
        {
            peak ??= FromProfile(profile, d, "fp32 peak", PeakFlag, profile.PeakFor(DType.F32));
            bandwidth ??= FromProfile(profile, d, "memory bandwidth", BandwidthFlag, profile.Memory.Bandwidth);
            string? note = d.Kind == DeviceKind.Emulated
                ? $"{d.Id} is emulated on this machine: % of roofline compares the emulation's times with the profiled device's figures"
                : null;
            return new BenchRoofline(peak, bandwidth, note);
        }

        if (d.Kind is not (DeviceKind.Cpu or DeviceKind.Emulated))
        {
            throw new AccelException(
                $"accel bench cannot measure the roofline of '{d.Id}' ({d.Name}, a {d.Kind.ToString().ToLowerInvariant()}) from the host, " +
                $"and no hardware profile matches it. Pass {PeakFlag} and {BandwidthFlag} with the device's fp32 peak and memory bandwidth, " +
                "or add a profile for it (see docs/profiles.md).");
        }

        int threads = ProbeThreads(device);
        log?.Invoke($"probing this machine with {threads} thread(s): " +
            string.Join(" and ", new[] { peak is null ? "fp32 FMA rate" : null, bandwidth is null ? "read bandwidth" : null }.OfType<string>()));
        var window = o.Probe ?? ProbeSettings.Default;
        peak ??= new RooflineFigure(MachineProbe.PeakGflops(threads, window),
            $"measured at start: fp32 FMA rate, {threads} thread(s) x 12 {MachineProbe.VectorWidth} chains");
        bandwidth ??= new RooflineFigure(MachineProbe.BandwidthGbps(threads, window),
            $"measured at start: read bandwidth, {threads} thread(s) x 4 streams over {window.BufferBytes >> 20} MiB");
        return new BenchRoofline(peak, bandwidth);
    }

    /// <summary>
    /// The threads the opened device computes with, which the probe measures with: the cpu backend's
    /// own count (from --threads, configuration or its default), 1 for the reference, else every processor.
    /// </summary>
    public static int ProbeThreads(IBackend device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device switch
        {
            CpuBackend cpu => cpu.Threads,
            _ when device.Device.Rank == AutoRank.Reference => 1,
            _ => Math.Max(1, Environment.ProcessorCount),
        };
    }

    /// <summary>The profile that describes <paramref name="device"/>: a shim's own, or the best match of a GPU or accelerator; else null.</summary>
    public static HardwareProfile? ProfileOf(IBackend device, ProfileCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device is IShimBackend shim)
        {
            return shim.Profile;
        }

        var d = device.Device;
        DeviceApi? api = d.Kind is not (DeviceKind.Gpu or DeviceKind.Accelerator) ? null
            : d.Id.StartsWith("cuda:", StringComparison.Ordinal) ? DeviceApi.Cuda
            : d.Id.StartsWith("opencl:", StringComparison.Ordinal) ? DeviceApi.OpenCL
            : null;
        if (api is not { } a)
        {
            return null;
        }

        catalog ??= new HardwareProfileLoader().LoadCatalog();
        return catalog.FindBestMatch(new DeviceProbe(a, null, d.Name));
    }

    /// <summary>A profile figure in GFLOP/s or GB/s (both 1e9 base units), or an error naming what the profile lacks.</summary>
    private static RooflineFigure FromProfile(HardwareProfile profile, DeviceDescriptor d, string what, string flag, Figure? figure)
    {
        if (figure?.BaseValue is not { } value || !double.IsFinite(value) || value <= 0)
        {
            throw new AccelException(
                $"Hardware profile '{profile.Id}' of device '{d.Id}' gives no {what} ({figure?.Source ?? "not listed"}), so accel bench has no roofline for it. " +
                $"Pass {flag} with the figure, or fill it in the profile (see docs/profiles.md).");
        }

        return new RooflineFigure(value / 1e9, $"hardware profile {profile.Id}, {what} {figure}: {figure.Source}");
    }

    private static void Check(double? value, string flag, string what)
    {
        if (value is { } v && !(double.IsFinite(v) && v > 0))
        {
            throw new InvalidInputException(
                $"{flag} {v.ToString(CultureInfo.InvariantCulture)} is not a roofline figure: give {what} as a finite number above 0, " +
                "or leave the flag out to take the figure from the device's hardware profile or measure this machine.");
        }
    }
}
