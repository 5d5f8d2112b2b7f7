using Accel.Backends;
using Accel.Backends.Shims;
using Accel.Backends.Shims.Ascend;
using Accel.Backends.Shims.Cambricon;
using Accel.Backends.Shims.Hygon;
using Accel.Errors;
using Accel.Graph;
using Accel.Moe;
using Accel.Types;

namespace Accel.Shims.Tests;

/// <summary>The vendor programming models: launch shapes and copies are checked against the profile.</summary>
[TestFixture]
[NonParallelizable]
public sealed class VendorApiTests
{
    private static OpNode AnyNode()
    {
        var config = MoePresets.MixtralTiny;
        return MoeLayerBuilder.Build(config, 0, ShimFixture.Weights(config, 0, SyntheticFormat.F32)).Nodes[0];
    }

    [Test]
    public void Ascend_launches_over_at_most_the_profiles_ai_cores_and_checks_memcpy_kinds()
    {
        using var shim = (ShimBackend<IAscendRuntime>)ShimFixture.Open("ascend-910b");
        var acl = shim.Runtime;
        Assert.That(acl.AiCoreCount, Is.EqualTo(24));
        Assert.That(acl.LaunchShape, Does.Contain("blockDim 24"));
        var kernel = new AclKernel(AnyNode(), [], []);
        var e = Assert.Throws<BackendException>(() => acl.LaunchKernel(kernel, 25, acl.DefaultStream));
        Assert.That(e!.Message, Does.Contain("blockDim 25").And.Contain("1..24"));
        Assert.Throws<BackendException>(() => acl.LaunchKernel(kernel, 0, acl.DefaultStream));

        var stream = acl.CreateStream(acl.CreateContext(acl.CurrentDevice));
        Assert.That(stream, Is.Not.EqualTo(acl.DefaultStream));
        using var a = acl.Malloc(100, new TensorDesc("a", DType.F32, new Shape(4)));
        using var b = acl.Malloc(100, new TensorDesc("b", DType.F32, new Shape(4)));
        Assert.That(a.AllocatedBytes, Is.EqualTo(128 + 32), "aclrtMalloc: round up to 32 B, plus 32 B");
        byte[] data = [.. Enumerable.Range(1, 16).Select(i => (byte)i)];
        acl.Memcpy(a, data, MemcpyKind.HostToDevice);
        acl.Memcpy(b, a, MemcpyKind.DeviceToDevice);
        var back = new byte[16];
        acl.Memcpy(back, b, MemcpyKind.DeviceToHost);
        Assert.That(back, Is.EqualTo(data));
        Assert.Throws<BackendException>(() => acl.Memcpy(a, data, MemcpyKind.DeviceToHost));
    }

    [Test]
    public void Cambricon_task_types_are_checked_against_clusters_and_cores()
    {
        using var shim = (ShimBackend<ICambriconRuntime>)ShimFixture.Open("cambricon-mlu370-x8");
        var cnrt = (CnrtRuntime)shim.Runtime;
        var k = shim.Profile.Kernels.CpuEmulation;
        Assert.That(cnrt.CoresPerCluster, Is.EqualTo(k.WarpsPerMultiprocessor));
        Assert.That(cnrt.Clusters, Is.EqualTo(k.Multiprocessors), "core count unknown in the profile: clusters from the emulation");
        Assert.That((cnrt.DefaultType, cnrt.DefaultDim.X), Is.EqualTo((CnrtFunctionType.Union1, 4)));
        cnrt.ValidateTask(new CnrtDim3(7), CnrtFunctionType.Block);
        cnrt.ValidateTask(new CnrtDim3(8), CnrtFunctionType.Union1);
        var e = Assert.Throws<BackendException>(() => cnrt.ValidateTask(new CnrtDim3(8), CnrtFunctionType.Union2));
        Assert.That(e!.Message, Does.Contain("Union2 needs 2 clusters"));
        e = Assert.Throws<BackendException>(() => cnrt.ValidateTask(new CnrtDim3(3), CnrtFunctionType.Union1));
        Assert.That(e!.Message, Does.Contain("multiple of 4"));
        Assert.That(cnrt.CreateQueue(), Is.Not.EqualTo(cnrt.DefaultQueue));
        using var m = cnrt.Malloc(65, new TensorDesc("m", DType.F32, new Shape(4)));
        Assert.That(m.AllocatedBytes, Is.EqualTo(128), "GDRAM in 64-B granules");
    }

    [Test]
    public void Cambricon_clusters_follow_a_known_core_count()
    {
        var profile = ShimFixture.UserProfile("cambricon-mlu370-x8", "test-mlu-16",
            j => j["compute"]!["units"] = new System.Text.Json.Nodes.JsonObject { ["value"] = 16, ["unit"] = "MLU core", ["source"] = "test" });
        using var shim = (ShimBackend<ICambriconRuntime>)ShimProvider.Open(profile);
        var cnrt = (CnrtRuntime)shim.Runtime;
        Assert.That(cnrt.Clusters, Is.EqualTo(4));
        Assert.That((cnrt.DefaultType, cnrt.DefaultDim.X), Is.EqualTo((CnrtFunctionType.Union4, 16)));
        cnrt.ValidateTask(new CnrtDim3(16), CnrtFunctionType.Union4);
        Assert.Throws<BackendException>(() => cnrt.ValidateTask(new CnrtDim3(32), CnrtFunctionType.Union8));
    }

    [Test]
    public void Hygon_blocks_are_whole_wavefronts_of_64()
    {
        using var shim = (ShimBackend<IHygonRuntime>)ShimFixture.Open("hygon-k100-ai");
        var hip = shim.Runtime;
        Assert.That(hip.WarpSize, Is.EqualTo(64));
        Assert.That(hip.MultiProcessorCount, Is.EqualTo(120));
        Assert.That(hip.LaunchShape, Does.Contain("wavefront 64"));
        var kernel = new HipKernel(AnyNode(), [], []);
        var e = Assert.Throws<BackendException>(() => hip.LaunchKernel(kernel, new HipDim3(1), new HipDim3(96), 0, hip.DefaultStream));
        Assert.That(e!.Message, Does.Contain("hipErrorInvalidConfiguration").And.Contain("64-wide"));
        Assert.Throws<BackendException>(() => hip.LaunchKernel(kernel, new HipDim3(1), new HipDim3(2048), 0, hip.DefaultStream));
        using var a = hip.HipMalloc(16, new TensorDesc("a", DType.F32, new Shape(4)));
        Assert.Throws<BackendException>(() => hip.HipMemcpy(a, new byte[16], MemcpyKind.DeviceToDevice));
    }

    [Test]
    public void The_provider_lists_one_emulated_device_per_shim_profile()
    {
        var devices = new ShimProvider(ShimFixture.Catalog).EnumerateDevices();
        var shipped = ShimFixture.Catalog.Profiles.Where(p => p.Shim != Profiles.ShimKind.None).Select(p => p.Id);
        Assert.That(devices.Select(d => d.Id), Is.EquivalentTo(shipped));
        var ascend = devices.Single(d => d.Id == "ascend-910b");
        Assert.That((ascend.Status, ascend.Kind, ascend.Backend), Is.EqualTo((DeviceStatus.Emulated, DeviceKind.Emulated, "ascend")));
        Assert.That(ascend.Note, Does.StartWith("emulated on ilgpu-cpu; Huawei Ascend 910B2"));
        Assert.That(ascend.MemoryBytes, Is.EqualTo(64L << 30));
    }

    [Test]
    public void Profiles_without_a_shim_are_present_only_when_their_target_is()
    {
        DeviceDescriptor Present(string id) => new(id, "x", id, DeviceKind.Cpu, null, DeviceStatus.Present);
        var here = ShimProvider.Statuses(ShimFixture.Catalog, [Present("reference"), Present("ilgpu-cpu")]);
        var h200 = here.Single(s => s.Profile.Id == "nvidia-h200");
        Assert.That(h200.Status, Is.EqualTo(DeviceStatus.Absent));
        Assert.That(h200.Note, Does.Contain("no cuda device"));
        Assert.That(here.Single(s => s.Profile.Id == "opencl-generic").Status, Is.EqualTo(DeviceStatus.Absent));
        Assert.That(here.Single(s => s.Profile.Id == "hygon-k100-ai").Status, Is.EqualTo(DeviceStatus.Emulated));

        var withGpu = ShimProvider.Statuses(ShimFixture.Catalog, [Present("reference"), Present("cuda:0")]);
        Assert.That(withGpu.Single(s => s.Profile.Id == "nvidia-h200").Status, Is.EqualTo(DeviceStatus.Present));
    }
}
