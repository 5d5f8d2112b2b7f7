using System.Text.Json.Nodes;
using Accel.Backends;
using Accel.Backends.Reference;
using Accel.Backends.Shims;
using Accel.Errors;
using Accel.Execution;
using Accel.Graph;
using Accel.Moe;
using Accel.Types;

namespace Accel.Shims.Tests;

/// <summary>Each shim really applies its profile: tile and geometry, alignment, dtypes, memory.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ProfileAppliedTests
{
    private static IEnumerable<string> Shims => ShimFixture.Shims;

    private static IShimBackend OpenProfile(Profiles.HardwareProfile profile) => (IShimBackend)ShimProvider.Open(profile);

    [TestCaseSource(nameof(Shims))]
    public void The_inner_target_gets_the_profiles_geometry_tile_and_row_group(string id)
    {
        using var shim = (IShimBackend)ShimFixture.Open(id);
        var runtime = (EmulatedRuntime)shim.ShimRuntime;
        var k = shim.Profile.Kernels;
        Assert.That(runtime.TargetId, Is.EqualTo("ilgpu-cpu"));
        Assert.That((runtime.Ilgpu.Options.CpuThreadsPerWarp, runtime.Ilgpu.Options.CpuWarpsPerMultiprocessor, runtime.Ilgpu.Options.CpuMultiprocessors),
            Is.EqualTo((k.CpuEmulation.ThreadsPerWarp, k.CpuEmulation.WarpsPerMultiprocessor, k.CpuEmulation.Multiprocessors)));
        Assert.That(runtime.Ilgpu.GemmTile, Is.EqualTo(runtime.Kernels.Tile));
        Assert.That(runtime.Ilgpu.RowGroup, Is.EqualTo(runtime.Kernels.RowGroup));
        Assert.That(k.GemmTile.M % runtime.Ilgpu.GemmTile.M + k.GemmTile.N % runtime.Ilgpu.GemmTile.N + k.GemmTile.K % runtime.Ilgpu.GemmTile.K,
            Is.Zero, "a substituted tile divides the profile's");
        Assert.That(runtime.Ilgpu.GemmTile.Threads, Is.LessThanOrEqualTo(k.CpuEmulation.MaxGroupSize));
        if (id == "ascend-910b")
        {
            Assert.That((runtime.Ilgpu.GemmTile.M, runtime.Ilgpu.GemmTile.N, runtime.Ilgpu.GemmTile.K), Is.EqualTo((16, 16, 16)));
            Assert.That(runtime.Kernels.Note, Does.Not.Contain("GEMM tile"));
        }
        else
        {
            Assert.That(runtime.Kernels.Note, Does.Contain("GEMM tile"), "why the shipped tile differs is stated");
        }
    }

    [TestCaseSource(nameof(Shims))]
    public void A_tile_written_in_a_user_profile_reaches_the_inner_target(string id)
    {
        var profile = ShimFixture.UserProfile(id, "test-tile", j => j["kernels"]!["gemmTile"] = new JsonObject { ["m"] = 32, ["n"] = 32, ["k"] = 32 });
        using var shim = OpenProfile(profile);
        var tile = ((EmulatedRuntime)shim.ShimRuntime).Ilgpu.GemmTile;
        Assert.That((tile.M, tile.N, tile.K), Is.EqualTo((32, 32, 32)));
        Assert.That(shim.ShimRuntime.Target.Device.Name, Does.Contain(
            $"{profile.Kernels.CpuEmulation.ThreadsPerWarp}x{profile.Kernels.CpuEmulation.WarpsPerMultiprocessor}x{profile.Kernels.CpuEmulation.Multiprocessors}"));
    }

    [TestCaseSource(nameof(Shims))]
    public void Allocations_are_padded_to_the_alignment_tiles_and_vendor_rule(string id)
    {
        using var shim = (IShimBackend)ShimFixture.Open(id);
        int alignment = shim.Profile.Memory.EffectiveAlignment;
        foreach (var shape in new[] { new Shape(3), new Shape(5, 7), new Shape(2, 17, 9) })
        {
            using var b = (ShimBuffer)shim.Allocate(new TensorDesc("t", DType.F32, shape));
            Assert.That(b.Memory.RequestBytes % alignment, Is.Zero, $"{shape} padded to {alignment} B");
            Assert.That(b.Memory.RequestBytes, Is.GreaterThan(b.Desc.ByteSize));
            Assert.That(b.AllocationBytes, Is.EqualTo(shim.ShimRuntime.AllocationSize(b.Memory.RequestBytes)));
        }

        using var small = (ShimBuffer)shim.Allocate(new TensorDesc("small", DType.F32, new Shape(3)));
        long expected = id switch
        {
            "ascend-910b" => 512 + 32,   // one 512-B fractal, then aclrtMalloc's round-to-32 plus 32
            "cambricon-mlu370-x8" => 256, // 3 -> 64 elements (tile K) = 256 B, a whole number of 64-B granules
            _ => 128,                     // 3 -> 32 elements (tile K); the profile knows no alignment
        };
        Assert.That(small.AllocationBytes, Is.EqualTo(expected));
    }

    [Test]
    public void An_alignment_written_in_a_user_profile_is_applied()
    {
        var profile = ShimFixture.UserProfile("hygon-k100-ai", "test-aligned",
            j => j["memory"]!["alignmentBytes"] = new JsonObject { ["value"] = 4096, ["unit"] = "B", ["source"] = "test" });
        using var shim = OpenProfile(profile);
        using var b = (ShimBuffer)shim.Allocate(new TensorDesc("t", DType.F32, new Shape(3)));
        Assert.That(b.AllocationBytes, Is.EqualTo(4096));
    }

    [TestCaseSource(nameof(Shims))]
    public void Block_scaled_weights_are_converted_per_the_profiles_rule(string id)
    {
        using var shim = (IShimBackend)ShimFixture.Open(id);
        Assert.That(shim.Profile.DTypes.RuleFor(DType.F8E4M3)?.To, Is.Not.Null, "the shipped profile converts fp8");
        using var fp8 = (ShimBuffer)shim.Allocate(new TensorDesc("w", DType.F8E4M3, new Shape(2, 128, 128)));
        using var bf16 = (ShimBuffer)shim.Allocate(new TensorDesc("v", DType.BF16, new Shape(4)));
        Assert.That((fp8.IsConverted, fp8.DeviceType), Is.EqualTo((true, DType.F32)));
        Assert.That(fp8.Memory.RequestBytes, Is.GreaterThanOrEqualTo(2 * 128 * 128 * 4L));
        Assert.That(bf16.IsConverted, Is.False);
    }

    [TestCaseSource(nameof(Shims))]
    public void A_dtype_with_a_fallback_rule_puts_its_nodes_on_the_next_backend(string id)
    {
        var profile = ShimFixture.UserProfile(id, "test-no-bf16", j => WithoutBf16(j, "fallback"));
        using var shim = OpenProfile(profile);
        using var reference = new ReferenceBackend();
        using var moe = ShimFixture.CheckLayer("mixtral-tiny", 0, SyntheticFormat.BF16, 3, [shim, reference]);
        var gemms = moe.Session.Placements.Where(p => p.Node.Kind == OpKind.GroupedGemm).ToList();
        Assert.That(gemms.Select(p => p.DeviceId), Is.All.EqualTo("reference"));
        Assert.That(gemms[0].Reason, Does.Contain("lacks bf16"));
        Assert.That(moe.Session.Placements.Where(p => p.Node.Kind == OpKind.TopK).Select(p => p.DeviceId), Is.All.EqualTo("test-no-bf16"));

        var e = Assert.Throws<BackendException>(() => ShimFixture.CheckLayer("mixtral-tiny", 0, SyntheticFormat.BF16, 3,
            [shim, reference], new SessionOptions(Strict: true)));
        Assert.That(e!.Message, Does.Contain("Strict").And.Contain("lacks bf16"));
    }

    [TestCaseSource(nameof(Shims))]
    public void A_dtype_with_a_conversion_rule_is_converted_at_upload(string id)
    {
        var profile = ShimFixture.UserProfile(id, "test-bf16-to-f32", j => WithoutBf16(j, "f32"));
        using var shim = OpenProfile(profile);
        using var reference = new ReferenceBackend();
        using var moe = ShimFixture.CheckLayer("mixtral-tiny", 0, SyntheticFormat.BF16, 3, [shim, reference]);
        Assert.That(moe.Session.Placements.Select(p => p.DeviceId), Is.All.EqualTo("test-bf16-to-f32"));
        using var w = (ShimBuffer)shim.Allocate(new TensorDesc("w", DType.BF16, new Shape(4)));
        Assert.That(w.DeviceType, Is.EqualTo(DType.F32));
    }

    [TestCaseSource(nameof(Shims))]
    public void A_plan_beyond_the_profiles_memory_is_refused(string id)
    {
        var profile = ShimFixture.UserProfile(id, "test-small-memory",
            j => j["memory"]!["deviceBytes"] = new JsonObject { ["value"] = 64, ["unit"] = "KiB", ["source"] = "test" });
        using var shim = OpenProfile(profile);
        Assert.That(shim.MemoryLimitBytes, Is.EqualTo(64 * 1024));
        using var reference = new ReferenceBackend();
        var config = MoePresets.MixtralTiny;
        var weights = ShimFixture.Weights(config, 0, SyntheticFormat.F32);
        var e = Assert.Throws<DeviceMemoryException>(() => new MoeLayer(config, 0, weights, [shim, reference]).Dispose());
        Assert.That(e!.Message, Does.Contain("test-small-memory").And.Contain("64 KiB"));
    }

    [Test]
    public void A_profile_with_unknown_memory_has_no_limit_and_says_so()
    {
        var device = new ShimProvider(ShimFixture.Catalog).EnumerateDevices().Single(d => d.Id == "cambricon-mlu370-x8");
        Assert.That(device.MemoryBytes, Is.Null);
        Assert.That(device.Note, Does.Contain("no memory limit"));
        using var shim = (IShimBackend)ShimFixture.Open("cambricon-mlu370-x8");
        Assert.That(shim.MemoryLimitBytes, Is.Null);
    }

    private static void WithoutBf16(JsonObject json, string rule)
    {
        var dtypes = json["dtypes"]!.AsObject();
        var kept = dtypes["supported"]!.AsArray().Select(n => n!.GetValue<string>()).Where(s => s != "bf16").ToArray();
        dtypes["supported"] = new JsonArray([.. kept.Select(s => (JsonNode)JsonValue.Create(s)!)]);
        dtypes["legalize"]!.AsObject()["bf16"] = rule;
        json["peaks"]!.AsObject().Remove("bf16");
    }
}
