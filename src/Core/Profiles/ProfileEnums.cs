using Accel.Types;

namespace Accel.Profiles;

/// <summary>The vendor shim a profile runs behind (<c>shim</c> in the file).</summary>
public enum ShimKind
{
    /// <summary>No shim: the profile describes a device a backend drives directly (<c>none</c>).</summary>
    None,
    /// <summary>ACL-shaped shim for Huawei Ascend-like devices (<c>ascend</c>).</summary>
    Ascend,
    /// <summary>CNRT/BANG-shaped shim for Cambricon MLU-like devices (<c>cambricon</c>).</summary>
    Cambricon,
    /// <summary>HIP/DTK-shaped shim for Hygon DCU-like devices (<c>hygon</c>).</summary>
    Hygon,
}

/// <summary>An execution target a profile may prefer (<c>targets</c> in the file).</summary>
public enum ExecutionTarget
{
    /// <summary>ILGPU kernels compiled to PTX on a CUDA device (<c>cuda</c>).</summary>
    Cuda,
    /// <summary>ILGPU kernels lowered to OpenCL C (<c>opencl</c>).</summary>
    OpenCL,
    /// <summary>ILGPU kernels on ILGPU's CPU accelerator, shaped by the profile (<c>ilgpu-cpu</c>).</summary>
    IlgpuCpu,
    /// <summary>The vectorised host CPU backend (<c>cpu</c>).</summary>
    Cpu,
    /// <summary>The plain C# reference backend (<c>reference</c>).</summary>
    Reference,
}

/// <summary>The programming interface a device is discovered through (<c>match[].api</c>).</summary>
public enum DeviceApi
{
    /// <summary>CUDA device properties (<c>cuda</c>).</summary>
    Cuda,
    /// <summary>OpenCL platform and device info (<c>opencl</c>).</summary>
    OpenCL,
    /// <summary>HIP / DTK device properties (<c>hip</c>).</summary>
    Hip,
    /// <summary>AscendCL (<c>acl</c>).</summary>
    Acl,
    /// <summary>Cambricon CNRT / CNDrv (<c>cnrt</c>).</summary>
    Cnrt,
    /// <summary>The host processor (<c>host</c>).</summary>
    Host,
}

/// <summary>What a <see cref="Figure"/> measures; decides which units it accepts.</summary>
public enum FigureKind
{
    /// <summary>A whole number of things (cores, lanes); the unit names the thing.</summary>
    Count,
    /// <summary>A size (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB).</summary>
    Bytes,
    /// <summary>A bandwidth (MB/s, GB/s, GiB/s, TB/s).</summary>
    BytesPerSecond,
    /// <summary>A throughput (GFLOP/s, TFLOP/s, PFLOP/s, GOPS, TOPS).</summary>
    OperationsPerSecond,
    /// <summary>A clock (MHz, GHz).</summary>
    Hertz,
}

/// <summary>The spellings profile files use for enums and dtypes, in both directions.</summary>
public static class ProfileNames
{
    private static readonly Dictionary<string, ShimKind> Shims = new(StringComparer.Ordinal)
    {
        ["none"] = ShimKind.None,
        ["ascend"] = ShimKind.Ascend,
        ["cambricon"] = ShimKind.Cambricon,
        ["hygon"] = ShimKind.Hygon,
    };

    private static readonly Dictionary<string, ExecutionTarget> Targets = new(StringComparer.Ordinal)
    {
        ["cuda"] = ExecutionTarget.Cuda,
        ["opencl"] = ExecutionTarget.OpenCL,
        ["ilgpu-cpu"] = ExecutionTarget.IlgpuCpu,
        ["cpu"] = ExecutionTarget.Cpu,
        ["reference"] = ExecutionTarget.Reference,
    };

    private static readonly Dictionary<string, DeviceApi> Apis = new(StringComparer.Ordinal)
    {
        ["cuda"] = DeviceApi.Cuda,
        ["opencl"] = DeviceApi.OpenCL,
        ["hip"] = DeviceApi.Hip,
        ["acl"] = DeviceApi.Acl,
        ["cnrt"] = DeviceApi.Cnrt,
        ["host"] = DeviceApi.Host,
    };

    private static readonly Dictionary<string, DType> DTypes =
        Enum.GetValues<DType>().ToDictionary(t => t.ShortName(), StringComparer.Ordinal);

    /// <summary>Accepted <c>shim</c> values, comma-separated, for messages.</summary>
    public static string ShimNames => string.Join(", ", Shims.Keys);

    /// <summary>Accepted <c>targets</c> values, comma-separated, for messages.</summary>
    public static string TargetNames => string.Join(", ", Targets.Keys);

    /// <summary>Accepted <c>match[].api</c> values, comma-separated, for messages.</summary>
    public static string ApiNames => string.Join(", ", Apis.Keys);

    /// <summary>Accepted dtype names (Accel short names), comma-separated, for messages.</summary>
    public static string DTypeNames => string.Join(", ", DTypes.Keys);

    /// <summary>The file spelling of <paramref name="shim"/> (e.g. <c>ascend</c>).</summary>
    public static string Name(this ShimKind shim) => Shims.First(p => p.Value == shim).Key;

    /// <summary>The file spelling of <paramref name="target"/> (e.g. <c>ilgpu-cpu</c>).</summary>
    public static string Name(this ExecutionTarget target) => Targets.First(p => p.Value == target).Key;

    /// <summary>The file spelling of <paramref name="api"/> (e.g. <c>opencl</c>).</summary>
    public static string Name(this DeviceApi api) => Apis.First(p => p.Value == api).Key;

    /// <summary>Parses a <c>shim</c> value; exact, lower case.</summary>
    public static bool TryParseShim(string? name, out ShimKind shim) => TryGet(Shims, name, out shim);

    /// <summary>Parses a <c>targets</c> element; exact, lower case.</summary>
    public static bool TryParseTarget(string? name, out ExecutionTarget target) =>
        TryGet(Targets, name, out target);

    /// <summary>Parses a <c>match[].api</c> value; exact, lower case.</summary>
    public static bool TryParseApi(string? name, out DeviceApi api) => TryGet(Apis, name, out api);

    /// <summary>
    /// Parses a dtype exactly as profiles spell it (the Accel short name, e.g. <c>f8e4m3</c>).
    /// Unlike <see cref="DTypeInfo.TryParse"/> it accepts no aliases and no other case.
    /// </summary>
    public static bool TryParseDType(string? name, out DType type) => TryGet(DTypes, name, out type);

    private static bool TryGet<T>(Dictionary<string, T> map, string? name, out T value)
        where T : struct
    {
        if (name is not null && map.TryGetValue(name, out value))
        {
            return true;
        }

        value = default;
        return false;
    }
}
