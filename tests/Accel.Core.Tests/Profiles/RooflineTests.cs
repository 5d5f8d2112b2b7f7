using Accel.Profiles;
using Accel.Types;
using NUnit.Framework;

namespace Accel.Core.Tests.Profiles;

/// <summary>
/// Roofline arithmetic on the test profile: f32 peak 10 TFLOP/s, bandwidth 100 GB/s, f16 peak unknown.
/// </summary>
[TestFixture]
public sealed class RooflineTests
{
    private static readonly HardwareProfile Profile = ProfileTestData.Valid();

    [Test]
    public void ComputeBoundWorkIsPredictedFromThePeak()
    {
        var estimate = Roofline.Estimate(Profile, DType.F32, flops: 1e12, bytes: 1e9)!;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(estimate.ComputeSeconds, Is.EqualTo(0.1).Within(1e-12));
            Assert.That(estimate.MemorySeconds, Is.EqualTo(0.01).Within(1e-12));
            Assert.That(estimate.PredictedSeconds, Is.EqualTo(0.1).Within(1e-12));
            Assert.That(estimate.IsComputeBound, Is.True);
            Assert.That(estimate.PercentOfRoofline(0.2), Is.EqualTo(50).Within(1e-9));
        }
    }

    [Test]
    public void MemoryBoundWorkIsPredictedFromTheBandwidth()
    {
        var seconds = Roofline.PredictSeconds(Profile, DType.F32, flops: 1e9, bytes: 1e10);

        Assert.That(seconds, Is.EqualTo(0.1).Within(1e-12));
        Assert.That(Roofline.Estimate(Profile, DType.F32, 1e9, 1e10)!.IsComputeBound, Is.False);
        Assert.That(Roofline.PercentOfRoofline(Profile, DType.F32, 1e9, 1e10, measuredSeconds: 0.4),
            Is.EqualTo(25).Within(1e-9));
    }

    [Test]
    public void AnUnknownOrMissingPeakGivesNull()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Roofline.Estimate(Profile, DType.F16, 1e9, 1e6), Is.Null, "f16 peak is null");
            Assert.That(Roofline.Estimate(Profile, DType.BF16, 1e9, 1e6), Is.Null, "no bf16 peak");
            Assert.That(Roofline.PercentOfRoofline(Profile, DType.F16, 1e9, 1e6, 1.0), Is.Null);
        }
    }

    [Test]
    public void AnUnknownBandwidthGivesNullOnlyWhenBytesMove()
    {
        var noBandwidth = ProfileTestData.ParseMutated(r => r.At("memory.bandwidth").ReplaceWith(
            System.Text.Json.Nodes.JsonNode.Parse(
                """{ "value": null, "unit": "GB/s", "source": "unknown: not measured" }""")));

        Assert.That(Roofline.Estimate(noBandwidth, DType.F32, 1e12, 1e9), Is.Null);
        Assert.That(Roofline.PredictSeconds(noBandwidth, DType.F32, 1e12, 0), Is.EqualTo(0.1).Within(1e-12));
        Assert.That(Roofline.PredictSeconds(Profile, DType.F16, 0, 1e9), Is.EqualTo(0.01).Within(1e-12),
            "no operations: the unknown f16 peak is not needed");
    }

    [Test]
    public void UnitsAreScaledToBaseUnits()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Profile.Memory.DeviceMemoryBytes, Is.EqualTo(8L * 1024 * 1024 * 1024));
            Assert.That(Profile.Memory.Bandwidth.BaseValue, Is.EqualTo(100e9));
            Assert.That(Profile.PeakFor(DType.F32)!.BaseValue, Is.EqualTo(10e12));
            Assert.That(Profile.Compute.Clock!.BaseValue, Is.EqualTo(1.5e9));
        }
    }

    [Test]
    public void RealProfilesGiveFiniteEstimates()
    {
        var h200 = new HardwareProfileLoader().LoadCatalog().Get("nvidia-h200");

        // A 4096^3 f16 GEMM: 2 * 4096^3 operations, three 4096^2 f16 matrices moved.
        var flops = 2.0 * 4096 * 4096 * 4096;
        var bytes = 3.0 * 4096 * 4096 * 2;
        var estimate = Roofline.Estimate(h200, DType.F16, flops, bytes)!;

        Assert.That(estimate.ComputeSeconds, Is.EqualTo(flops / 989e12).Within(1e-15));
        Assert.That(estimate.MemorySeconds, Is.EqualTo(bytes / 4.8e12).Within(1e-15));
        Assert.That(estimate.IsComputeBound, Is.True);
    }

    [Test]
    public void NegativeInputsAreRejected()
    {
        Assert.That(() => Roofline.Estimate(Profile, DType.F32, -1, 0), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => Roofline.Estimate(Profile, DType.F32, 0, -1), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => Roofline.PercentOfRoofline(Profile, DType.F32, 1, 1, 0),
            Throws.TypeOf<ArgumentOutOfRangeException>());
    }
}
