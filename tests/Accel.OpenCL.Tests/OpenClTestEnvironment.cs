using Accel.Backends.OpenCL;
using NUnit.Framework;

namespace Accel.OpenCL.Tests;

/// <summary>
/// One runtime and one device context for the whole run, with a private program cache folder,
/// so the tests never read or write the user's cache. Without an OpenCL device every test that
/// needs one is ignored with the discovery reason.
/// </summary>
[SetUpFixture]
public sealed class OpenClTestEnvironment
{
    private static OpenClRuntime? runtime;
    private static OpenClDeviceContext? context;
    private static OpenClBackend? backend;

    /// <summary>A fresh folder under the system temp folder, removed at the end of the run.</summary>
    public static string CacheRoot { get; } =
        Path.Combine(Path.GetTempPath(), "accel-opencl-tests-" + Guid.NewGuid().ToString("N"));

    public static OpenClRuntime Runtime => runtime ??= new OpenClRuntime(new OpenClOptions
    {
        CacheDirectory = Path.Combine(CacheRoot, "shared"),
    });

    /// <summary>The first OpenCL device, or Assert.Ignore with the reason there is none.</summary>
    public static OpenClDeviceContext Device
    {
        get
        {
            RequireDevice();
            return context ??= Runtime.CreateContext(0);
        }
    }

    /// <summary>An <see cref="OpenClBackend"/> on the first device, shared by the op and layer tests.</summary>
    public static OpenClBackend Backend
    {
        get
        {
            RequireDevice();
            return backend ??= OpenClBackend.Create(Runtime, 0);
        }
    }

    public static void RequireDevice()
    {
        if (Runtime.Devices.Count == 0)
        {
            Assert.Ignore("No OpenCL device: " + Runtime.UnavailableReason);
        }
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        backend?.Dispose();
        backend = null;
        context?.Dispose();
        context = null;
        if (Directory.Exists(CacheRoot))
        {
            Directory.Delete(CacheRoot, recursive: true);
        }
    }
}
