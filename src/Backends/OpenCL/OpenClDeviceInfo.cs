using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Accel.Backends.OpenCL;

/// <summary>The kind of an OpenCL device (<c>CL_DEVICE_TYPE</c>), as flags.</summary>
[Flags]
public enum OpenClDeviceType
{
    /// <summary>No type bit reported.</summary>
    None = 0,

    /// <summary><c>CL_DEVICE_TYPE_DEFAULT</c>.</summary>
    Default = 1,

    /// <summary><c>CL_DEVICE_TYPE_CPU</c> (e.g. PoCL).</summary>
    Cpu = 2,

    /// <summary><c>CL_DEVICE_TYPE_GPU</c>.</summary>
    Gpu = 4,

    /// <summary><c>CL_DEVICE_TYPE_ACCELERATOR</c>.</summary>
    Accelerator = 8,

    /// <summary><c>CL_DEVICE_TYPE_CUSTOM</c>.</summary>
    Custom = 16,
}

/// <summary>
/// One OpenCL device as discovered (no context is created to learn this). <see cref="Index"/>
/// counts devices across all platforms in platform order and is what <c>opencl:N</c> names.
/// </summary>
/// <param name="Index">Position across all platforms; the <c>N</c> in <c>opencl:N</c>.</param>
/// <param name="PlatformIndex">Position of the platform in <c>clGetPlatformIDs</c>.</param>
/// <param name="PlatformName">CL_PLATFORM_NAME.</param>
/// <param name="PlatformVendor">CL_PLATFORM_VENDOR.</param>
/// <param name="PlatformVersion">CL_PLATFORM_VERSION.</param>
/// <param name="Name">CL_DEVICE_NAME.</param>
/// <param name="Vendor">CL_DEVICE_VENDOR.</param>
/// <param name="Type">CL_DEVICE_TYPE.</param>
/// <param name="Version">CL_DEVICE_VERSION, e.g. <c>OpenCL 3.0 PoCL ...</c>.</param>
/// <param name="DriverVersion">CL_DRIVER_VERSION.</param>
/// <param name="OpenClCVersion">CL_DEVICE_OPENCL_C_VERSION, e.g. <c>OpenCL C 1.2 PoCL</c>.</param>
/// <param name="ComputeUnits">CL_DEVICE_MAX_COMPUTE_UNITS.</param>
/// <param name="GlobalMemoryBytes">CL_DEVICE_GLOBAL_MEM_SIZE.</param>
/// <param name="LocalMemoryBytes">CL_DEVICE_LOCAL_MEM_SIZE (shared memory per group).</param>
/// <param name="MaxAllocationBytes">CL_DEVICE_MAX_MEM_ALLOC_SIZE (largest single buffer).</param>
/// <param name="MaxWorkGroupSize">CL_DEVICE_MAX_WORK_GROUP_SIZE.</param>
/// <param name="MaxWorkItemSizes">CL_DEVICE_MAX_WORK_ITEM_SIZES, one entry per dimension.</param>
/// <param name="Extensions">CL_DEVICE_EXTENSIONS, split.</param>
/// <param name="GenericAddressSpace">
/// Whether the device supports the OpenCL C 2.0 generic address space: false below OpenCL 2.0,
/// true on 2.x (mandatory there), CL_DEVICE_GENERIC_ADDRESS_SPACE_SUPPORT on 3.0+, false when
/// that query fails.
/// </param>
public sealed record OpenClDeviceInfo(
    int Index,
    int PlatformIndex,
    string PlatformName,
    string PlatformVendor,
    string PlatformVersion,
    string Name,
    string Vendor,
    OpenClDeviceType Type,
    string Version,
    string DriverVersion,
    string OpenClCVersion,
    int ComputeUnits,
    long GlobalMemoryBytes,
    long LocalMemoryBytes,
    long MaxAllocationBytes,
    long MaxWorkGroupSize,
    ImmutableArray<long> MaxWorkItemSizes,
    ImmutableArray<string> Extensions,
    bool GenericAddressSpace)
{
    /// <summary>The device id string, <c>opencl:N</c>.</summary>
    public string Id => $"opencl:{Index}";

    /// <summary>Whether the device has <c>cl_khr_fp16</c> (half precision).</summary>
    public bool SupportsFp16 => HasExtension("cl_khr_fp16");

    /// <summary>Whether the device has <c>cl_khr_fp64</c> (double precision).</summary>
    public bool SupportsFp64 => HasExtension("cl_khr_fp64");

    /// <summary>Whether the device has sub-groups (<c>cl_khr_subgroups</c> or <c>cl_intel_subgroups</c>).</summary>
    public bool SupportsSubgroups => HasExtension("cl_khr_subgroups") || HasExtension("cl_intel_subgroups");

    /// <summary>Whether the device has 64-bit integer atomics (base and extended).</summary>
    public bool SupportsInt64Atomics =>
        HasExtension("cl_khr_int64_base_atomics") && HasExtension("cl_khr_int64_extended_atomics");

    /// <summary>The OpenCL version of the device parsed from <see cref="Version"/> (1.0 when unparsable).</summary>
    public Version DeviceVersion => ParseVersion(Version, "OpenCL ");

    /// <summary>The OpenCL C version parsed from <see cref="OpenClCVersion"/> (1.0 when unparsable).</summary>
    public Version CVersion => ParseVersion(OpenClCVersion, "OpenCL C ");

    /// <summary>
    /// The <c>-cl-std</c> build option used for this device: the device's OpenCL C version
    /// (<c>CL1.2</c> on PoCL; <c>CL2.0</c> / <c>CL3.0</c> where reported). Empty for 1.0 devices.
    /// </summary>
    public string ClStdOption => CVersion switch
    {
        { Major: >= 3 } => "-cl-std=CL3.0",
        { Major: 2 } => "-cl-std=CL2.0",
        { Major: 1, Minor: >= 2 } => "-cl-std=CL1.2",
        { Major: 1, Minor: 1 } => "-cl-std=CL1.1",
        _ => string.Empty,
    };

    /// <summary>Whether <paramref name="extension"/> appears in <see cref="Extensions"/>.</summary>
    public bool HasExtension(string extension) =>
        Extensions.Contains(extension, StringComparer.OrdinalIgnoreCase);

    /// <summary>One line for logs and error messages.</summary>
    public override string ToString() =>
        $"{Id}: {Name} ({Vendor}; {PlatformName}; {Version}; {OpenClCVersion}; {ComputeUnits} CUs)";

    private static Version ParseVersion(string text, string prefix)
    {
        var match = Regex.Match(text, Regex.Escape(prefix) + @"(\d+)\.(\d+)");
        return match.Success
            ? new Version(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture),
                int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture))
            : new Version(1, 0);
    }
}
