using System.Collections.Immutable;
using Accel.Errors;
using Silk.NET.OpenCL;

namespace Accel.Backends.OpenCL;

/// <summary>
/// What discovery found: every device on every platform, or, when the list is empty, the
/// reason in a sentence (no OpenCL library, no platform, platforms without devices).
/// </summary>
public sealed class OpenClDiscoveryResult
{
    internal OpenClDiscoveryResult(ImmutableArray<OpenClDeviceInfo> devices, ImmutableArray<nint> deviceIds,
        ImmutableArray<nint> platformIds, string? emptyReason, ImmutableArray<string> problems)
    {
        Devices = devices;
        DeviceIds = deviceIds;
        PlatformIds = platformIds;
        EmptyReason = devices.IsEmpty ? emptyReason ?? "No OpenCL device was found." : null;
        Problems = problems;
    }

    /// <summary>All devices, indexed by <see cref="OpenClDeviceInfo.Index"/>.</summary>
    public ImmutableArray<OpenClDeviceInfo> Devices { get; }

    /// <summary>Why <see cref="Devices"/> is empty; null when it is not.</summary>
    public string? EmptyReason { get; }

    /// <summary>Platforms or devices that were skipped because a query failed, in sentences.</summary>
    public ImmutableArray<string> Problems { get; }

    /// <summary>The cl_device_id of each device, parallel to <see cref="Devices"/>.</summary>
    internal ImmutableArray<nint> DeviceIds { get; }

    /// <summary>The cl_platform_id of each device, parallel to <see cref="Devices"/>.</summary>
    internal ImmutableArray<nint> PlatformIds { get; }
}

/// <summary>Enumerates OpenCL platforms and devices cheaply (no context is created).</summary>
public static class OpenClDiscovery
{
    /// <summary>
    /// Lists every device of every platform. Never throws for a missing ICD, a missing platform
    /// or a device whose queries fail: those give an empty list with
    /// <see cref="OpenClDiscoveryResult.EmptyReason"/> or an entry in
    /// <see cref="OpenClDiscoveryResult.Problems"/>.
    /// </summary>
    public static OpenClDiscoveryResult Discover()
    {
        var cl = OpenClLibrary.TryGet(out var loadReason);
        if (cl is null)
        {
            return new OpenClDiscoveryResult([], [], [], loadReason, []);
        }

        var devices = ImmutableArray.CreateBuilder<OpenClDeviceInfo>();
        var deviceIds = ImmutableArray.CreateBuilder<nint>();
        var platformIds = ImmutableArray.CreateBuilder<nint>();
        var problems = ImmutableArray.CreateBuilder<string>();
        nint[] platforms;
        try
        {
            platforms = ClInfo.Platforms(cl);
        }
        catch (BackendException e)
        {
            return new OpenClDiscoveryResult([], [], [], "Listing OpenCL platforms failed: " + e.Message, []);
        }

        if (platforms.Length == 0)
        {
            return new OpenClDiscoveryResult([], [], [],
                "The OpenCL loader found no platform (no ICD is installed or registered under " +
                "/etc/OpenCL/vendors); install a driver such as pocl-opencl-icd.", []);
        }

        for (int p = 0; p < platforms.Length; p++)
        {
            try
            {
                var platform = ReadPlatform(cl, platforms[p]);
                foreach (var device in ClInfo.Devices(cl, platforms[p]))
                {
                    try
                    {
                        devices.Add(ReadDevice(cl, device, devices.Count, p, platform));
                        deviceIds.Add(device);
                        platformIds.Add(platforms[p]);
                    }
                    catch (BackendException e)
                    {
                        problems.Add($"A device of platform {p} ({platform.Name}) was skipped: {e.Message}");
                    }
                }
            }
            catch (BackendException e)
            {
                problems.Add($"Platform {p} was skipped: {e.Message}");
            }
        }

        string? reason = devices.Count == 0
            ? $"{platforms.Length} OpenCL platform(s) were found but none has a usable device." +
              (problems.Count > 0 ? " " + string.Join(" ", problems) : string.Empty)
            : null;
        return new OpenClDiscoveryResult(devices.ToImmutable(), deviceIds.ToImmutable(),
            platformIds.ToImmutable(), reason, problems.ToImmutable());
    }

    private sealed record PlatformFacts(string Name, string Vendor, string Version);

    private static PlatformFacts ReadPlatform(CL cl, nint platform) => new(
        ClInfo.PlatformString(cl, platform, PlatformInfo.Name),
        ClInfo.PlatformString(cl, platform, PlatformInfo.Vendor),
        ClInfo.PlatformString(cl, platform, PlatformInfo.Version));

    private static OpenClDeviceInfo ReadDevice(CL cl, nint device, int index, int platformIndex,
        PlatformFacts platform)
    {
        string version = ClInfo.DeviceString(cl, device, DeviceInfo.Version);
        var info = new OpenClDeviceInfo(
            Index: index,
            PlatformIndex: platformIndex,
            PlatformName: platform.Name,
            PlatformVendor: platform.Vendor,
            PlatformVersion: platform.Version,
            Name: ClInfo.DeviceString(cl, device, DeviceInfo.Name),
            Vendor: ClInfo.DeviceString(cl, device, DeviceInfo.Vendor),
            Type: (OpenClDeviceType)(int)ClInfo.DeviceValue<ulong>(cl, device, DeviceInfo.Type),
            Version: version,
            DriverVersion: ClInfo.DeviceString(cl, device, DeviceInfo.DriverVersion),
#pragma warning disable CS0618 // deprecated in 3.0, yet the one query every 1.2 / 2.x / 3.0 device answers
            OpenClCVersion: ClInfo.DeviceString(cl, device, DeviceInfo.OpenclCVersion),
#pragma warning restore CS0618
            ComputeUnits: (int)ClInfo.DeviceValue<uint>(cl, device, DeviceInfo.MaxComputeUnits),
            GlobalMemoryBytes: (long)ClInfo.DeviceValue<ulong>(cl, device, DeviceInfo.GlobalMemSize),
            LocalMemoryBytes: (long)ClInfo.DeviceValue<ulong>(cl, device, DeviceInfo.LocalMemSize),
            MaxAllocationBytes: (long)ClInfo.DeviceValue<ulong>(cl, device, DeviceInfo.MaxMemAllocSize),
            MaxWorkGroupSize: (long)ClInfo.DeviceValue<nuint>(cl, device, DeviceInfo.MaxWorkGroupSize),
            MaxWorkItemSizes: [.. ClInfo.DeviceSizes(cl, device, DeviceInfo.MaxWorkItemSizes)],
            Extensions: [.. ClInfo.DeviceString(cl, device, DeviceInfo.Extensions)
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)],
            GenericAddressSpace: false);
        return info with { GenericAddressSpace = QueryGenericAddressSpace(cl, device, info.DeviceVersion) };
    }

    /// <summary>False below 2.0, true on 2.x (mandatory), the 3.0 query otherwise (false if it fails).</summary>
    private static bool QueryGenericAddressSpace(CL cl, nint device, Version deviceVersion) =>
        deviceVersion.Major switch
        {
            < 2 => false,
            2 => true,
            _ => ClInfo.TryDeviceValue<uint>(cl, device, DeviceInfo.GenericAddressSpaceSupport) is { } v && v != 0,
        };
}
