using Accel.Backends;
using Accel.Backends.OpenCL;
using Accel.Errors;
using Accel.Graph;
using Accel.Kernels.Tests;
using Accel.Types;
using NUnit.Framework;
using static Accel.Kernels.Tests.RoutingOpTests;

namespace Accel.OpenCL.Tests;

/// <summary>The backend contract on opencl:0: devices, buffers, the memory limit, kernel-reported input errors.</summary>
[TestFixture]
public sealed class BackendTests
{
    [Test]
    public void TheProviderListsEveryDeviceWithItsFacts()
    {
        var provider = new OpenClProvider(new OpenClOptions { EnableDiskCache = false });
        var devices = provider.EnumerateDevices();
        Assert.That(devices, Is.Not.Empty, "an absent entry explains a missing platform");
        if (provider.Runtime.Devices.Count == 0)
        {
            Assert.That(devices[0].Status, Is.EqualTo(DeviceStatus.Absent));
            Assert.That(devices[0].Note, Is.Not.Empty);
            Assert.Ignore("No OpenCL device: " + devices[0].Note);
        }

        var info = provider.Runtime.Devices[0];
        Assert.That(devices[0].Id, Is.EqualTo("opencl:0"));
        Assert.That(devices[0].Backend, Is.EqualTo("opencl"));
        Assert.That(devices[0].Status, Is.EqualTo(DeviceStatus.Present));
        Assert.That(devices[0].MemoryBytes, Is.EqualTo(info.GlobalMemoryBytes));
        Assert.That(devices[0].Name, Is.EqualTo(info.Name));
        Assert.That(devices[0].Note, Does.Contain(info.Vendor).And.Contain("compute units").And.Contain("address space"));
        using var backend = provider.Create(devices[0]);
        Assert.That(backend.Device.Id, Is.EqualTo("opencl:0"));
    }

    [Test]
    public void ZeroLengthBuffersWork()
    {
        var backend = OpenClTestEnvironment.Backend;
        using var empty = backend.Allocate(new TensorDesc("empty", DType.F32, new Shape(0, 8)));
        backend.Upload(empty, []);
        backend.Download(empty, []);
        long before = backend.AllocatedBytes;
        using (var b = backend.Allocate(new TensorDesc("three", DType.F32, new Shape(3))))
        {
            backend.Upload(b, new byte[12]);
            Assert.That(backend.AllocatedBytes, Is.EqualTo(before + 12));
        }

        Assert.That(backend.AllocatedBytes, Is.EqualTo(before));
    }

    [Test]
    public void AllocationsBeyondTheGlobalMemoryAreDeviceMemoryErrors()
    {
        var backend = OpenClTestEnvironment.Backend;
        Assert.That(backend.MemoryLimitBytes, Is.EqualTo(backend.DeviceInfo.GlobalMemoryBytes));
        long elements = backend.DeviceInfo.GlobalMemoryBytes / 4 + 1;
        Assert.Throws<DeviceMemoryException>(() => backend.Allocate(new TensorDesc("huge", DType.F32, new Shape(elements))));
    }

    [Test]
    public void InvalidTokenIdsBecomeInvalidInputErrorsNamingTheNode()
    {
        var backend = OpenClTestEnvironment.Backend;
        var g = new GraphBuilder();
        var ids = g.Input("ids", DType.I32, 3);
        g.Output(g.HashRoute("hash_route", ids, g.Weight("tid2eid", DType.I32, 4, 2), 8));
        var data = Data(g, ("ids", I32([0, 9, 1], 3)), ("tid2eid", I32([0, 1, 2, 3, 4, 5, 6, 7], 4, 2)));
        var e = Assert.Throws<InvalidInputException>(() => Conformance.RunPoisoned(data, backend))!;
        Assert.That(e.Message, Does.Contain("hash_route").And.Contain("token id 9"));

        var fixedData = data with { Inputs = new() { ["ids"] = I32([0, 3, 1], 3) } };
        Assert.DoesNotThrow(() => Conformance.RunPoisoned(fixedData, backend));
    }

    [Test]
    public void EachKernelIsLoadedOnceAndTheTileFitsTheDevice()
    {
        var backend = OpenClTestEnvironment.Backend;
        Assert.That(backend.GemmTile.Threads, Is.LessThanOrEqualTo(backend.DeviceInfo.MaxWorkGroupSize));
        Assert.That(backend.RowGroup.Size, Is.LessThanOrEqualTo(backend.DeviceInfo.MaxWorkGroupSize));
        var g = new GraphBuilder();
        var a = g.Input("a", DType.F32, 2, 3);
        g.Output(g.Sum("add", a, a));
        var data = Data(g, ("a", F32(new float[6], 2, 3)));
        Conformance.RunPoisoned(data, backend);
        int loaded = backend.LoadedKernelCount;
        Conformance.RunPoisoned(data, backend);
        Assert.That(backend.LoadedKernelCount, Is.EqualTo(loaded));
    }

    [Test]
    public void TileAndRowGroupOverridesAreHonoured()
    {
        OpenClTestEnvironment.RequireDevice();
        using var backend = OpenClBackend.Create(new OpenClRuntime(new OpenClOptions
        {
            CacheDirectory = Path.Combine(OpenClTestEnvironment.CacheRoot, "shared"),
            GemmTile = (16, 16, 16),
            RowGroupSize = 16,
        }), 0);
        Assert.That(backend.GemmTile.M, Is.EqualTo(16));
        Assert.That(backend.RowGroup.Size, Is.EqualTo(16));
        Assert.That(backend.PreferredSegmentAlignment, Is.EqualTo(16));
    }
}
