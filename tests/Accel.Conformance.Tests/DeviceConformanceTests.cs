using System.Collections.Concurrent;
using Accel.Backends;

namespace Accel.Conformance.Tests;

/// <summary>
/// Every case on every usable device against the reference backend (emulated profiles: the quick
/// subset, every case with <c>ACCEL_CONFORMANCE_FULL=1</c>). The only skips are the cases
/// <see cref="KnownGaps"/> declares not supported, with the declared reason; an undeclared "not
/// supported" fails, and so does a declared gap that now passes. An absent device is one ignored
/// test that says why.
/// </summary>
public sealed class DeviceConformanceTests
{
    private static readonly ConcurrentDictionary<string, (IBackend Backend, ConformanceRunner Runner)> Open = new();

    [TestCaseSource(typeof(DeviceMatrix), nameof(DeviceMatrix.DeviceCases))]
    public void Matches_reference(string deviceId, ConformanceCase c)
    {
        var (device, runner) = Open.GetOrAdd(deviceId, id => (DeviceMatrix.Registry.Open(id), new ConformanceRunner()));
        var r = runner.Run(c, device);
        var gap = KnownGaps.Find(deviceId, c.Id);
        switch (r.Status)
        {
            case CaseStatus.NotSupported when gap is not null:
                Assert.Ignore($"declared not supported ({gap.Reason}): {r.Detail}");
                break;
            case CaseStatus.NotSupported:
                Assert.Fail($"{c.Id} is not supported on {deviceId} ({r.Detail}) but no entry of KnownGaps declares it: " +
                    "declare it there with the reason, or implement it.");
                break;
            case CaseStatus.Fail:
                Assert.Fail($"{c.Id} on {deviceId}: {r.Metric} {r.Error:E2} (tolerance {r.Tolerance:E0}): {r.Detail}");
                break;
            default:
                Assert.That(gap, Is.Null, $"{c.Id} now passes on {deviceId}, but KnownGaps declares it not supported " +
                    $"({gap?.Reason}): remove the entry.");
                Assert.That(r.Checks, Is.Not.Empty, "an OK result must come from checks that ran");
                break;
        }
    }

    [TestCaseSource(typeof(DeviceMatrix), nameof(DeviceMatrix.AbsentDevices))]
    public void Absent_device(string deviceId, string why) => Assert.Ignore($"{deviceId} is not present here: {why}");

    /// <summary>Closes every device the suite opened.</summary>
    [SetUpFixture]
    public sealed class Devices
    {
        [OneTimeTearDown]
        public void CloseAll()
        {
            foreach (var (backend, runner) in Open.Values)
            {
                runner.Dispose();
                backend.Dispose();
            }

            Open.Clear();
        }
    }
}
