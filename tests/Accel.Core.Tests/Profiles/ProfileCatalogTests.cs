using Accel.Errors;
using Accel.Profiles;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace Accel.Core.Tests.Profiles;

/// <summary>Loading folders into a catalog: overrides, duplicates, look-ups and auto-detection.</summary>
[TestFixture]
public sealed class ProfileCatalogTests
{
    [Test]
    public void AUserFolderOverridesAShippedIdWithAVisibleNote()
    {
        using var user = new TempFolder();
        var shipped = File.ReadAllText(Path.Combine(HardwareProfileLoader.ShippedFolder, "nvidia-h200.json"));
        var custom = user.Write("nvidia-h200.json", ProfileTestData.Mutate(
            r => r.At("identity")["model"] = "H200 NVL (my lab)", shipped));
        var logger = new ListLogger<HardwareProfileLoader>();

        var catalog = new HardwareProfileLoader(logger).LoadCatalog([user.Path]);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(catalog.Get("nvidia-h200").Identity.Model, Is.EqualTo("H200 NVL (my lab)"));
            Assert.That(catalog.FileOf("nvidia-h200"), Is.EqualTo(custom));
            Assert.That(catalog.Overrides, Has.Count.EqualTo(1));
            Assert.That(catalog.Overrides[0].Id, Is.EqualTo("nvidia-h200"));
            Assert.That(catalog.Overrides[0].ReplacedFile, Does.EndWith("nvidia-h200.json"));
            Assert.That(catalog.Overrides[0].File, Is.EqualTo(custom));
            Assert.That(logger.Messages.Count(m => m.Contains("nvidia-h200") && m.Contains("overrides")),
                Is.EqualTo(1));
            Assert.That(catalog.Contains("ascend-910b"), Is.True, "shipped profiles stay");
        }
    }

    [Test]
    public void LaterExtraFoldersWinOverEarlierOnes()
    {
        using var first = new TempFolder();
        using var second = new TempFolder();
        first.Write("test-device.json", ProfileTestData.ValidJson);
        var winner = second.Write("test-device.json", ProfileTestData.Mutate(r => r.At("identity")["model"] = "T2"));

        var catalog = new HardwareProfileLoader().LoadFolders([first.Path, second.Path]);

        Assert.That(catalog.Get("test-device").Identity.Model, Is.EqualTo("T2"));
        Assert.That(catalog.FileOf("test-device"), Is.EqualTo(winner));
        Assert.That(catalog.Overrides, Has.Count.EqualTo(1));
    }

    [Test]
    public void AUserFolderCanAddANewDeviceShape()
    {
        using var user = new TempFolder();
        user.Write("test-device.json", ProfileTestData.ValidJson);

        var catalog = new HardwareProfileLoader().LoadCatalog([user.Path]);

        Assert.That(catalog.TryGet("test-device", out var profile), Is.True);
        Assert.That(profile!.Identity.Vendor, Is.EqualTo("Acme"));
        Assert.That(catalog.Overrides, Is.Empty);
    }

    [Test]
    public void DuplicateIdsInOneFolderAreAnError()
    {
        using var folder = new TempFolder();
        var first = folder.Write("a.json", ProfileTestData.ValidJson);
        folder.Write("b.json", ProfileTestData.ValidJson);

        var e = Assert.Throws<ProfileException>(() => new HardwareProfileLoader().LoadFolders([folder.Path]))!;

        using (Assert.EnterMultipleScope())
        {
            Assert.That(e.File, Does.EndWith("b.json"));
            Assert.That(e.JsonPath, Is.EqualTo("$.id"));
            Assert.That(e.Message, Does.Contain("'test-device'").And.Contain(first).And.Contain("same folder"));
        }
    }

    [Test]
    public void TheSchemaFileAndNonJsonFilesAreSkipped()
    {
        using var folder = new TempFolder();
        folder.Write("schema.json", "{ \"not\": \"a profile\" }");
        folder.Write("readme.txt", "not json");
        folder.Write("test-device.json", ProfileTestData.ValidJson);

        var catalog = new HardwareProfileLoader().LoadFolders([folder.Path]);

        Assert.That(catalog.Ids, Is.EqualTo(new[] { "test-device" }));
    }

    [Test]
    public void AMissingFolderIsAnError()
    {
        var missing = Path.Combine(Path.GetTempPath(), "accel-no-such-folder-" + Guid.NewGuid().ToString("N"));

        var e = Assert.Throws<AccelException>(() => new HardwareProfileLoader().LoadFolders([missing]))!;

        Assert.That(e.Message, Does.Contain(missing).And.Contain("does not exist"));
    }

    [Test]
    public void GetOfAnUnknownIdListsTheKnownIds()
    {
        var catalog = new HardwareProfileLoader().LoadCatalog();

        var e = Assert.Throws<AccelException>(() => catalog.Get("ascend-999"))!;

        Assert.That(e.Message, Does.Contain("'ascend-999'").And.Contain("ascend-910b, ascend-910c")
            .And.Contain("cpu-host").And.Contain("docs/profiles.md"));
        Assert.That(catalog.TryGet("ascend-999", out var none), Is.False);
        Assert.That(none, Is.Null);
    }

    [TestCase(DeviceApi.Cuda, "NVIDIA Corporation", "NVIDIA H200", "nvidia-h200")]
    [TestCase(DeviceApi.OpenCL, "The pocl project", "pthread-skylake-avx512", "opencl-generic")]
    [TestCase(DeviceApi.Acl, "Huawei", "Ascend910B2", "ascend-910b")]
    [TestCase(DeviceApi.Acl, "Huawei", "Ascend910_9391", "ascend-910c")]
    [TestCase(DeviceApi.Acl, "Huawei", "ascend310p3", "ascend-310p")]
    [TestCase(DeviceApi.Cnrt, "Cambricon", "MLU370-X8", "cambricon-mlu370-x8")]
    [TestCase(DeviceApi.Hip, "Hygon", "K100_AI", "hygon-k100-ai")]
    [TestCase(DeviceApi.Host, null, null, "cpu-host")]
    public void AutoDetectionPicksTheMostSpecificProfile(DeviceApi api, string? vendor, string? device, string id)
    {
        var catalog = new HardwareProfileLoader().LoadCatalog();

        Assert.That(catalog.FindBestMatch(new DeviceProbe(api, vendor, device))?.Id, Is.EqualTo(id));
    }

    [Test]
    public void AMoreSpecificUserRuleBeatsTheGenericOpenClProfile()
    {
        using var user = new TempFolder();
        user.Write("test-device.json", ProfileTestData.ValidJson);
        var catalog = new HardwareProfileLoader().LoadCatalog([user.Path]);

        Assert.That(catalog.FindBestMatch(new DeviceProbe(DeviceApi.OpenCL, "ACME corp", "x"))?.Id,
            Is.EqualTo("test-device"));
        Assert.That(catalog.FindBestMatch(new DeviceProbe(DeviceApi.OpenCL, "Other", "x"))?.Id,
            Is.EqualTo("opencl-generic"));
        Assert.That(catalog.FindBestMatch(new DeviceProbe(DeviceApi.Hip, "AMD", "gfx90a")), Is.Null);
    }

    private sealed class ListLogger<T> : ILogger<T>
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter) => Messages.Add(formatter(state, exception));
    }
}
