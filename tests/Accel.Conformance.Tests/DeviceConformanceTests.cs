using Accel.Backends;
using Accel.Errors;

namespace Accel.Conformance.Tests;

/// <summary>
/// Every case on every device against the reference backend. An absent device is ignored with its
/// reason; a case the device does not support is ignored ("not supported: ..."), never passed.
/// </summary>
[TestFixtureSource(typeof(DeviceMatrix), nameof(DeviceMatrix.Fixtures))]
public sealed class DeviceConformanceTests(string deviceId)
{
    private IBackend? _device;
    private ConformanceRunner? _runner;

    [OneTimeSetUp]
    public void Open()
    {
        if (!DeviceMatrix.Registry.TryFind(deviceId, out var device) || device is null)
        {
            Assert.Ignore($"{deviceId} is not listed by any provider.");
            return;
        }

        if (!device.IsUsable)
        {
            Assert.Ignore($"{deviceId} is not present: {device.Note}");
        }

        try
        {
            _device = DeviceMatrix.Registry.Open(deviceId);
        }
        catch (BackendUnavailableException e)
        {
            Assert.Ignore($"{deviceId} is not present: {e.Message}");
        }

        _runner = new ConformanceRunner();
    }

    [OneTimeTearDown]
    public void Close()
    {
        _runner?.Dispose();
        _device?.Dispose();
    }

    [TestCaseSource(typeof(DeviceMatrix), nameof(DeviceMatrix.Cases))]
    public void Matches_reference(ConformanceCase c)
    {
        if (_device!.Device.Kind == DeviceKind.Emulated && !c.Quick
            && Environment.GetEnvironmentVariable("ACCEL_CONFORMANCE_FULL") != "1")
        {
            Assert.Ignore("emulated profiles run the quick subset here; set ACCEL_CONFORMANCE_FULL=1 (or use 'accel conformance') for every case.");
        }

        var r = _runner!.Run(c, _device!);
        switch (r.Status)
        {
            case CaseStatus.NotSupported:
                Assert.Ignore($"not supported: {r.Detail}");
                break;
            case CaseStatus.Fail:
                Assert.Fail($"{c.Id} on {deviceId}: {r.Metric} {r.Error:E2} (tolerance {r.Tolerance:E0}): {r.Detail}");
                break;
            default:
                Assert.That(r.Checks, Is.Not.Empty, "an OK result must come from checks that ran");
                break;
        }
    }
}
