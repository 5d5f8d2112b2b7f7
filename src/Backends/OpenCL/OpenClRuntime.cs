using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using System.Globalization;
using Accel.Errors;

namespace Accel.Backends.OpenCL;

/// <summary>
/// Entry point of the OpenCL backend: discovers devices (lazily, once, cheaply), owns the
/// program cache and opens <see cref="OpenClDeviceContext"/>s by index or by id
/// (<c>opencl:N</c>). Holds no global state; create one per host or DI container.
/// </summary>
/// <example>
/// <code>
/// var runtime = new OpenClRuntime();
/// if (runtime.Devices.Count == 0) Console.WriteLine(runtime.UnavailableReason);
/// using var device = runtime.CreateContext("opencl:0");
/// var add = device.LoadKernel(typeof(MyKernels).GetMethod(nameof(MyKernels.VectorAdd))!);
/// using var a = device.Upload&lt;float&gt;(x);
/// using var b = device.Upload&lt;float&gt;(y);
/// using var c = device.Allocate&lt;float&gt;(x.Length);
/// add.LaunchAutoGrouped(x.Length, a.View&lt;float&gt;(), b.View&lt;float&gt;(), c.View&lt;float&gt;());
/// c.Download&lt;float&gt;(result);
/// </code>
/// </example>
public sealed class OpenClRuntime
{
    private readonly Lazy<OpenClDiscoveryResult> discovery = new(OpenClDiscovery.Discover, isThreadSafe: true);

    /// <summary>Creates the runtime; nothing is loaded or queried until first use.</summary>
    public OpenClRuntime(OpenClOptions? options = null, ILogger? logger = null)
    {
        Options = options ?? new OpenClOptions();
        Logger = logger ?? NullLogger.Instance;
        ProgramCache = new OpenClProgramCache(Options.EnableDiskCache ? Options.ResolveCacheDirectory() : null);
    }

    /// <summary>Receives the compilers' build logs (warnings) at debug level, instead of the console.</summary>
    public ILogger Logger { get; }

    /// <summary>The options this runtime was created with.</summary>
    public OpenClOptions Options { get; }

    /// <summary>The program cache shared by every context of this runtime.</summary>
    public OpenClProgramCache ProgramCache { get; }

    /// <summary>The discovery result (devices, or the reason there are none).</summary>
    public OpenClDiscoveryResult Discovery => discovery.Value;

    /// <summary>All OpenCL devices; empty (never an exception) when OpenCL is absent.</summary>
    public IReadOnlyList<OpenClDeviceInfo> Devices => Discovery.Devices;

    /// <summary>Why <see cref="Devices"/> is empty; null when it is not.</summary>
    public string? UnavailableReason => Discovery.EmptyReason;

    /// <summary>Opens device <paramref name="index"/> (the N of <c>opencl:N</c>).</summary>
    /// <exception cref="BackendUnavailableException">No such device; the message lists those present.</exception>
    public OpenClDeviceContext CreateContext(int index)
    {
        var found = Discovery;
        if (index < 0 || index >= found.Devices.Length)
        {
            string present = found.Devices.IsEmpty
                ? found.EmptyReason ?? "No OpenCL device was found."
                : "Present: " + string.Join("; ", found.Devices.Select(d => d.ToString())) + ".";
            throw new BackendUnavailableException(ClStatus.Backend,
                $"OpenCL device opencl:{index} does not exist. {present}");
        }

        return new OpenClDeviceContext(OpenClLibrary.Get(), found.Devices[index], found.PlatformIds[index],
            found.DeviceIds[index], ProgramCache, Options.ExtraBuildOptions, Logger);
    }

    /// <summary>Opens the device named <paramref name="deviceId"/>: <c>opencl:N</c> (or <c>opencl</c> for device 0).</summary>
    /// <exception cref="ArgumentException">Not an <c>opencl</c> device id.</exception>
    /// <exception cref="BackendUnavailableException">No such device.</exception>
    public OpenClDeviceContext CreateContext(string deviceId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        var text = deviceId.Trim();
        if (text.Equals("opencl", StringComparison.OrdinalIgnoreCase))
        {
            return CreateContext(0);
        }

        const string prefix = "opencl:";
        if (!text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) ||
            !int.TryParse(text.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            throw new ArgumentException($"'{deviceId}' is not an OpenCL device id; use 'opencl:N', e.g. 'opencl:0'.",
                nameof(deviceId));
        }

        return CreateContext(index);
    }
}
