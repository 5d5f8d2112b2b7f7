using System.Text;
using Silk.NET.OpenCL;

namespace Accel.Backends.OpenCL;

/// <summary>Typed wrappers over <c>clGetPlatformInfo</c> / <c>clGetDeviceInfo</c>.</summary>
internal static unsafe class ClInfo
{
    /// <summary>A platform string property (name, vendor, version, ...).</summary>
    public static string PlatformString(CL cl, nint platform, PlatformInfo param)
    {
        nuint size;
        ClStatus.Check(cl.GetPlatformInfo(platform, param, 0, null, &size));
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes)
        {
            ClStatus.Check(cl.GetPlatformInfo(platform, param, size, p, null));
        }

        return Decode(bytes);
    }

    /// <summary>A device string property (name, vendor, extensions, ...).</summary>
    public static string DeviceString(CL cl, nint device, DeviceInfo param)
    {
        nuint size;
        ClStatus.Check(cl.GetDeviceInfo(device, param, 0, null, &size));
        var bytes = new byte[(int)size];
        fixed (byte* p = bytes)
        {
            ClStatus.Check(cl.GetDeviceInfo(device, param, size, p, null));
        }

        return Decode(bytes);
    }

    /// <summary>A fixed-size device property (cl_uint, cl_ulong, size_t, cl_bool, bitfields).</summary>
    public static T DeviceValue<T>(CL cl, nint device, DeviceInfo param) where T : unmanaged
    {
        T value = default;
        ClStatus.Check(cl.GetDeviceInfo(device, param, (nuint)sizeof(T), &value, null));
        return value;
    }

    /// <summary>Like <see cref="DeviceValue{T}"/>, but null when the query fails (optional properties).</summary>
    public static T? TryDeviceValue<T>(CL cl, nint device, DeviceInfo param) where T : unmanaged
    {
        T value = default;
        return cl.GetDeviceInfo(device, param, (nuint)sizeof(T), &value, null) == ClStatus.Success
            ? value
            : null;
    }

    /// <summary>A size_t[] device property (e.g. the max work-item sizes).</summary>
    public static long[] DeviceSizes(CL cl, nint device, DeviceInfo param)
    {
        nuint size;
        ClStatus.Check(cl.GetDeviceInfo(device, param, 0, null, &size));
        var values = new nuint[(int)size / sizeof(nuint)];
        fixed (nuint* p = values)
        {
            ClStatus.Check(cl.GetDeviceInfo(device, param, size, p, null));
        }

        return values.Select(v => (long)v).ToArray();
    }

    /// <summary>The platform ids, or an empty array when there is none.</summary>
    public static nint[] Platforms(CL cl)
    {
        uint count;
        int status = cl.GetPlatformIDs(0, null, &count);
        if (status == -1001 || count == 0)
        {
            return [];
        }

        ClStatus.Check(status);
        var ids = new nint[count];
        fixed (nint* p = ids)
        {
            ClStatus.Check(cl.GetPlatformIDs(count, p, null));
        }

        return ids;
    }

    /// <summary>All devices of a platform, or an empty array when it has none.</summary>
    public static nint[] Devices(CL cl, nint platform)
    {
        uint count;
        int status = cl.GetDeviceIDs(platform, DeviceType.All, 0, null, &count);
        if (status == -1 || count == 0)
        {
            return [];
        }

        ClStatus.Check(status);
        var ids = new nint[count];
        fixed (nint* p = ids)
        {
            ClStatus.Check(cl.GetDeviceIDs(platform, DeviceType.All, count, p, null));
        }

        return ids;
    }

    /// <summary>Decodes a NUL-terminated OpenCL string.</summary>
    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end >= 0 ? bytes[..end] : bytes).Trim();
    }
}
