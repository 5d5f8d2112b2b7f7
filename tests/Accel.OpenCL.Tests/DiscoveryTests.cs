using Accel.Backends.OpenCL;
using Accel.Errors;
using NUnit.Framework;

namespace Accel.OpenCL.Tests;

public sealed class DiscoveryTests
{
    [Test]
    public void Discovery_never_throws_and_explains_an_empty_list()
    {
        var result = OpenClDiscovery.Discover();
        if (result.Devices.IsEmpty)
        {
            Assert.That(result.EmptyReason, Is.Not.Null.And.Not.Empty);
            Assert.Ignore("No OpenCL device: " + result.EmptyReason);
        }

        Assert.That(result.EmptyReason, Is.Null);
        for (int i = 0; i < result.Devices.Length; i++)
        {
            var d = result.Devices[i];
            Assert.That(d.Index, Is.EqualTo(i));
            Assert.That(d.Id, Is.EqualTo($"opencl:{i}"));
            Assert.That(d.Name, Is.Not.Empty);
            Assert.That(d.ComputeUnits, Is.GreaterThan(0));
            Assert.That(d.GlobalMemoryBytes, Is.GreaterThan(0));
            Assert.That(d.LocalMemoryBytes, Is.GreaterThan(0));
            Assert.That(d.MaxWorkGroupSize, Is.GreaterThan(0));
            Assert.That(d.MaxWorkItemSizes, Is.Not.Empty);
            Assert.That(d.OpenClCVersion, Does.StartWith("OpenCL C"));
            Assert.That(d.ClStdOption, Does.StartWith("-cl-std=CL"));
        }
    }

    [Test]
    public void Discovery_lists_pocl_when_installed()
    {
        var devices = OpenClTestEnvironment.Runtime.Devices;
        OpenClTestEnvironment.RequireDevice();
        var pocl = devices.FirstOrDefault(d => d.PlatformName.Contains("Portable Computing Language", StringComparison.Ordinal));
        if (pocl is null)
        {
            Assert.Ignore("PoCL is not installed; found: " + string.Join("; ", devices));
        }

        Assert.That(pocl.Type.HasFlag(OpenClDeviceType.Cpu), Is.True);
        Assert.That(pocl.CVersion, Is.GreaterThanOrEqualTo(new Version(1, 2)));
        Assert.That(pocl.GenericAddressSpace, Is.False, "PoCL 3.x reports no generic address space");
        Assert.That(pocl.SupportsSubgroups, Is.False);
        TestContext.Out.WriteLine(pocl);
    }

    [Test]
    public void Naming_a_missing_device_is_a_clear_error()
    {
        var runtime = OpenClTestEnvironment.Runtime;
        var e = Assert.Throws<BackendUnavailableException>(() => runtime.CreateContext("opencl:999"));
        Assert.That(e!.Message, Does.Contain("opencl:999"));
        Assert.Throws<ArgumentException>(() => runtime.CreateContext("cuda:0"));
    }

    [Test]
    public void Status_names_are_words()
    {
        Assert.That(ClStatus.NameOf(-30), Is.EqualTo("CL_INVALID_VALUE (-30)"));
        Assert.That(ClStatus.NameOf(-9999), Does.Contain("-9999"));
        int status = -5;
        var e = Assert.Throws<DeviceMemoryException>(() => ClStatus.Check(status));
        Assert.That(e!.Message, Does.Contain("CL_OUT_OF_RESOURCES").And.Contain("status"));
        var other = Assert.Throws<BackendException>(() => ClStatus.Check(-38, "clSetKernelArg(k, 0)"));
        Assert.That(other!.Message, Does.Contain("clSetKernelArg(k, 0)").And.Contain("CL_INVALID_MEM_OBJECT"));
    }

    [Test]
    public void Cache_directory_follows_the_option_and_the_variable_applied_at_the_composition_root()
    {
        Assert.That(new OpenClOptions { CacheDirectory = "/tmp/x" }.ResolveCacheDirectory(), Is.EqualTo(Path.GetFullPath("/tmp/x")));
        Assert.That(new OpenClOptions().ResolveCacheDirectory(), Does.EndWith(Path.Combine("accel", "opencl")));
        var env = new Env(OpenClOptions.CacheDirectoryVariable, "/tmp/from-env");
        var configured = new OpenClOptions { CacheDirectory = "/tmp/configured" };
        Assert.That(configured.WithEnvironment(env).ResolveCacheDirectory(), Is.EqualTo(Path.GetFullPath("/tmp/from-env")),
            "the variable beats configuration");
        Assert.That(configured.ResolveCacheDirectory(), Is.EqualTo(Path.GetFullPath("/tmp/configured")), "WithEnvironment copies");
        Assert.That(configured.WithEnvironment(new Env("OTHER", "x")).CacheDirectory, Is.EqualTo("/tmp/configured"));
    }

    private sealed class Env(string name, string value) : Accel.Selection.IAccelEnvironment
    {
        public string? GetVariable(string variable) => variable == name ? value : null;
    }
}
