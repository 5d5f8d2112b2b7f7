using Accel.Backends;
using Accel.Backends.Ilgpu;
using Accel.Errors;
using Accel.Graph;
using Accel.Types;
using NUnit.Framework;
using static Accel.Kernels.Tests.RoutingOpTests;

namespace Accel.Kernels.Tests;

/// <summary>The ilgpu backend and provider contract: devices, buffers, caching, support and errors.</summary>
[TestFixture]
public sealed class BackendTests
{
    [Test]
    public void ProviderListsTheCpuAcceleratorAndNeverThrowsWithoutCuda()
    {
        var provider = new IlgpuProvider();
        var devices = provider.EnumerateDevices();
        Assert.That(devices.Select(d => d.Id), Does.Contain(IlgpuProvider.CpuDeviceId));
        foreach (var cuda in devices.Where(d => d.Id.StartsWith("cuda:", StringComparison.Ordinal)))
        {
            Assert.That((cuda.Status, cuda.Kind), Is.EqualTo((DeviceStatus.Present, DeviceKind.Gpu)));
        }
        if (!devices.Any(d => d.Id == "cuda:0"))
        {
            var absent = new DeviceDescriptor("cuda:0", IlgpuProvider.ProviderName, "none", DeviceKind.Gpu, null, DeviceStatus.Absent);
            Assert.Throws<BackendUnavailableException>(() => provider.Create(absent));
        }

        var unknown = new DeviceDescriptor("opencl:0", IlgpuProvider.ProviderName, "none", DeviceKind.Gpu, null, DeviceStatus.Absent);
        Assert.Throws<BackendUnavailableException>(() => provider.Create(unknown));
    }

    [Test]
    public void CpuGeometryComesFromTheOptions()
    {
        using var backend = IlgpuBackend.CreateCpu(new IlgpuOptions { CpuThreadsPerWarp = 8, CpuWarpsPerMultiprocessor = 8 });
        Assert.That(backend.GemmTile.Threads, Is.EqualTo(64));
        Assert.That(backend.RowGroup.Size, Is.EqualTo(64));
        Assert.That(backend.PreferredSegmentAlignment, Is.EqualTo(backend.GemmTile.M));
        Assert.That(Backends.Cpu.PreferredSegmentAlignment, Is.EqualTo(16));
    }

    [Test]
    public void ZeroLengthBuffersWorkAndReleaseTheirBytes()
    {
        var backend = Backends.Cpu;
        long before = backend.AllocatedBytes;
        var buffer = backend.Allocate(new TensorDesc("empty", DType.F32, new Shape(0, 8)));
        backend.Upload(buffer, []);
        backend.Download(buffer, []);
        var full = backend.Allocate(new TensorDesc("full", DType.F32, new Shape(3)));
        Assert.That(backend.AllocatedBytes, Is.EqualTo(before + 12));
        buffer.Dispose();
        full.Dispose();
        full.Dispose();
        Assert.That(backend.AllocatedBytes, Is.EqualTo(before));
    }

    [Test]
    public void TheMemoryLimitIsEnforced()
    {
        using var backend = IlgpuBackend.CreateCpu(new IlgpuOptions { MemoryLimitBytes = 1024 });
        using var ok = backend.Allocate(new TensorDesc("ok", DType.F32, new Shape(200)));
        Assert.Throws<DeviceMemoryException>(() => backend.Allocate(new TensorDesc("big", DType.F32, new Shape(200))));
    }

    [Test]
    public void EachKernelIsLoadedOnce()
    {
        var data = AddCase(5, 7);
        Conformance.RunPoisoned(data, Backends.Cpu);
        int loaded = Backends.Cpu.LoadedKernelCount;
        Conformance.RunPoisoned(AddCase(3, 2), Backends.Cpu);
        Assert.That(Backends.Cpu.LoadedKernelCount, Is.EqualTo(loaded));
    }

    [Test]
    public void ALaunchFailureIsABackendExceptionNamingTheNode()
    {
        // A 64x64 tile needs 256 threads per group; the default CPU geometry offers 16.
        using var backend = IlgpuBackend.CreateCpu(new IlgpuOptions { GemmTile = (64, 64, 16) });
        var g = new GraphBuilder();
        var x = g.Input("x", DType.F32, 4, 8);
        g.Output(g.RouterGemm("router_logits", x, g.Weight("wg", DType.F32, 3, 8)));
        var r = new TestRng(1);
        var data = Data(g, ("x", F32(r.Floats(32), 4, 8)), ("wg", F32(r.Floats(24), 3, 8)));
        var e = Assert.Throws<BackendException>(() => Conformance.RunPoisoned(data, backend))!;
        Assert.That(e.Message, Does.Contain("router_logits").And.Contain(nameof(OpKind.RouterGemm)));
        Assert.That(e.InnerException, Is.Not.Null);
    }

    [Test]
    public void InvalidIdsReportedByKernelsBecomeInvalidInputErrors()
    {
        var g = new GraphBuilder();
        var ids = g.Input("ids", DType.I32, 3);
        g.Output(g.HashRoute("hash_route", ids, g.Weight("tid2eid", DType.I32, 4, 2), 8));
        var data = Data(g, ("ids", I32([0, 9, 1], 3)), ("tid2eid", I32([0, 1, 2, 3, 4, 5, 6, 7], 4, 2)));
        var e = Assert.Throws<InvalidInputException>(() => Conformance.RunPoisoned(data, Backends.Cpu))!;
        Assert.That(e.Message, Does.Contain("hash_route").And.Contain("token id 9"));

        // The status is reset: the next run is clean.
        var fixedData = data with { Inputs = new() { ["ids"] = I32([0, 3, 1], 3) } };
        Assert.DoesNotThrow(() => Conformance.RunPoisoned(fixedData, Backends.Cpu));
    }

    [Test]
    public void SupportsReportsWhatTheKernelsCannotRun()
    {
        var g = new GraphBuilder();
        var q = g.Input("q", DType.F32, 2, 600);
        var node = g.GroupLimitMask("many_groups", q, 300, 2, GroupScore.Max);
        g.Output(node);
        var graph = g.Build();
        var support = Backends.Cpu.Supports(graph.Nodes[0], graph);
        Assert.That(support.IsSupported, Is.False);
        Assert.That(support.Reason, Does.Contain("256"));

        // A graph assembled without validation: an int8 norm weight has no kernel.
        Value[] values =
        [
            new(0, "x", DType.F32, new SymbolicShape(2, 4), ValueRole.Input),
            new(1, "w", DType.I8, new SymbolicShape(4), ValueRole.Weight),
            new(2, "y", DType.F32, new SymbolicShape(2, 4), ValueRole.Computed),
        ];
        var norm = new OpNode(0, "norm", OpKind.RmsNorm, [0, 1], [2], new RmsNormAttributes(1e-6f));
        var raw = new Graph.Graph([.. values], [norm], [2]);
        Assert.That(Backends.Cpu.Supports(norm, raw).IsSupported, Is.False);
        Assert.That(Backends.Cpu.Supports(norm, raw).Reason, Does.Contain("i8"));
    }

    private static CaseData AddCase(int t, int d)
    {
        var r = new TestRng(t);
        var g = new GraphBuilder();
        var a = g.Input("a", DType.F32, t, d);
        var b = g.Input("b", DType.F32, t, d);
        g.Output(g.Sum("add", a, b));
        return Data(g, ("a", F32(r.Floats(t * d), t, d)), ("b", F32(r.Floats(t * d), t, d)));
    }
}
