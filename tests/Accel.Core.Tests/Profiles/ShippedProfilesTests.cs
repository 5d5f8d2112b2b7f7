using System.Text.Json;
using Accel.Profiles;
using Accel.Types;
using NUnit.Framework;

namespace Accel.Core.Tests.Profiles;

/// <summary>
/// The profiles shipped in <c>hw-profiles/</c> load, follow the conventions and agree with the schema.
/// </summary>
[TestFixture]
public sealed class ShippedProfilesTests
{
    private static readonly string[] RequiredIds =
    [
        "ascend-910b", "ascend-910c", "ascend-310p", "cambricon-mlu370-x8", "cambricon-mlu590",
        "hygon-k100-ai", "hygon-bw200", "nvidia-h200", "opencl-generic", "cpu-host",
    ];

    private static IEnumerable<string> ShippedFiles() =>
        Directory.EnumerateFiles(HardwareProfileLoader.ShippedFolder, "*.json")
            .Where(f => Path.GetFileName(f) != HardwareProfileLoader.SchemaFileName)
            .Order(StringComparer.Ordinal);

    [Test]
    public void TheShippedFolderIsCopiedNextToTheAssembly()
    {
        Assert.That(Directory.Exists(HardwareProfileLoader.ShippedFolder), Is.True);
        Assert.That(File.Exists(Path.Combine(HardwareProfileLoader.ShippedFolder, "schema.json")), Is.True);
    }

    [TestCaseSource(nameof(ShippedFiles))]
    public void EveryShippedProfileLoadsAndIsNamedAfterItsId(string file)
    {
        var profile = HardwareProfileLoader.LoadFile(file);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(Path.GetFileName(file), Is.EqualTo(profile.Id + ".json"));
            Assert.That(profile.Targets, Is.Not.Empty);
            Assert.That(profile.DTypes.Supported, Is.Not.EqualTo(DTypeSet.None));
            Assert.That(profile.Kernels.RowReductionGroupSize,
                Is.LessThanOrEqualTo(profile.Kernels.CpuEmulation.MaxGroupSize));
        }
    }

    [Test]
    public void TheCatalogHoldsEveryRequiredDeviceShape()
    {
        var catalog = new HardwareProfileLoader().LoadCatalog();

        Assert.That(catalog.Ids, Is.SupersetOf(RequiredIds));
        Assert.That(catalog.Overrides, Is.Empty);
    }

    [Test]
    public void LoadingTwiceGivesEqualRecords()
    {
        var first = new HardwareProfileLoader().LoadCatalog().Profiles;
        var second = new HardwareProfileLoader().LoadCatalog().Profiles;

        Assert.That(second, Is.EqualTo(first));
        Assert.That(second.Select(p => p.GetHashCode()), Is.EqualTo(first.Select(p => p.GetHashCode())));
    }

    [Test]
    public void EveryUnknownFigureSaysWhyAndEveryKnownFigureCitesASource()
    {
        foreach (var profile in new HardwareProfileLoader().LoadCatalog().Profiles)
        {
            foreach (var figure in Figures(profile))
            {
                Assert.That(figure.Source, Is.Not.Empty, profile.Id);
                if (!figure.IsKnown)
                {
                    Assert.That(figure.Source, Does.StartWith("unknown:").Or.StartWith("n/a:"), profile.Id);
                }
            }
        }
    }

    [Test]
    public void ShimsMatchTheirVendors()
    {
        var catalog = new HardwareProfileLoader().LoadCatalog();

        using (Assert.EnterMultipleScope())
        {
            Assert.That(catalog.Get("ascend-910b").Shim, Is.EqualTo(ShimKind.Ascend));
            Assert.That(catalog.Get("cambricon-mlu590").Shim, Is.EqualTo(ShimKind.Cambricon));
            Assert.That(catalog.Get("hygon-bw200").Shim, Is.EqualTo(ShimKind.Hygon));
            Assert.That(catalog.Get("nvidia-h200").Shim, Is.EqualTo(ShimKind.None));
            Assert.That(catalog.Get("nvidia-h200").Targets[0], Is.EqualTo(ExecutionTarget.Cuda));
        }
    }

    [Test]
    public void FactsFromHwFactsAreCarriedThrough()
    {
        var catalog = new HardwareProfileLoader().LoadCatalog();
        var b = catalog.Get("ascend-910b");
        var p310 = catalog.Get("ascend-310p");

        using (Assert.EnterMultipleScope())
        {
            Assert.That(b.Memory.FindOnChip("ub")?.Size.BaseValueAsInt64, Is.EqualTo(192 * 1024));
            Assert.That(b.Memory.DeviceMemoryBytes, Is.EqualTo(64L << 30));
            Assert.That(b.Memory.EffectiveAlignment, Is.EqualTo(512));
            Assert.That(b.Compute.WarpWidth.IsKnown, Is.False);
            Assert.That(p310.DTypes.Supported.Contains(DType.BF16), Is.False);
            Assert.That(p310.DTypes.RuleFor(DType.BF16), Is.EqualTo(new LegalizationRule(DType.BF16, DType.F32)));
            Assert.That(catalog.Get("nvidia-h200").PeakFor(DType.F8E4M3)?.BaseValue, Is.EqualTo(1979e12));
            Assert.That(catalog.Get("cambricon-mlu590").Memory.DeviceMemoryBytes, Is.Null);
        }
    }

    [Test]
    public void TheSchemaIsDraft2020AndListsTheLoadersTopLevelFields()
    {
        using var schema = JsonDocument.Parse(File.ReadAllText(
            Path.Combine(HardwareProfileLoader.ShippedFolder, HardwareProfileLoader.SchemaFileName)));
        var root = schema.RootElement;
        var properties = root.GetProperty("properties").EnumerateObject().Select(p => p.Name);
        var required = root.GetProperty("required").EnumerateArray().Select(e => e.GetString());

        using (Assert.EnterMultipleScope())
        {
            Assert.That(root.GetProperty("$schema").GetString(),
                Is.EqualTo("https://json-schema.org/draft/2020-12/schema"));
            Assert.That(properties, Is.EquivalentTo(ProfileParser.TopLevelFields));
            Assert.That(required, Is.EquivalentTo(ProfileParser.RequiredTopLevelFields));
            Assert.That(root.GetProperty("additionalProperties").GetBoolean(), Is.False);
        }
    }

    private static IEnumerable<Figure> Figures(HardwareProfile p)
    {
        yield return p.Compute.Units;
        yield return p.Compute.WarpWidth;
        if (p.Compute.Clock is { } clock)
        {
            yield return clock;
        }

        foreach (var m in p.Memory.OnChip)
        {
            yield return m.Size;
        }

        yield return p.Memory.DeviceBytes;
        yield return p.Memory.Bandwidth;
        yield return p.Memory.AlignmentBytes;
        foreach (var peak in p.Peaks)
        {
            yield return peak.Throughput;
        }
    }
}
