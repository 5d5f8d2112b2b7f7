using Accel.Backends;
using Accel.Composition;

namespace Accel.Conformance.Tests;

/// <summary>The devices under test: every device the registry lists (present or not), and every case.</summary>
public static class DeviceMatrix
{
    /// <summary>The services of the composition root (every shipped backend, no configuration).</summary>
    private static AccelServices Services { get; } = AccelComposition.Create();

    /// <summary>The registry of every shipped provider.</summary>
    public static BackendRegistry Registry => Services.Registry;

    /// <summary>One fixture per listed device; GPU devices carry the category <c>gpu</c>.</summary>
    public static IEnumerable<TestFixtureData> Fixtures()
    {
        foreach (var d in Registry.Devices)
        {
            var data = new TestFixtureData(d.Id).SetArgDisplayNames(d.Id);
            if (d.Kind == DeviceKind.Gpu)
            {
                data.Properties.Add("Category", "gpu");
            }

            yield return data;
        }
    }

    /// <summary>
    /// Every usable device with every case it is tested on: emulated profiles take the quick subset
    /// unless <c>ACCEL_CONFORMANCE_FULL=1</c>. Slow cases carry the category <c>slow</c>, quick ones
    /// <c>quick</c>, cases of GPU devices <c>gpu</c>.
    /// </summary>
    public static IEnumerable<TestCaseData> DeviceCases()
    {
        bool full = Environment.GetEnvironmentVariable("ACCEL_CONFORMANCE_FULL") == "1";
        foreach (var d in Registry.Devices.Where(d => d.IsUsable))
        {
            foreach (var c in CaseCatalog.All.Where(c => full || c.Quick || d.Kind != DeviceKind.Emulated))
            {
                var data = new TestCaseData(d.Id, c).SetArgDisplayNames(d.Id, c.Id);
                if (c.Slow)
                {
                    data.SetCategory("slow");
                }

                if (c.Quick)
                {
                    data.SetCategory("quick");
                }

                if (d.Kind == DeviceKind.Gpu)
                {
                    data.SetCategory("gpu");
                }

                yield return data;
            }
        }
    }

    /// <summary>Every listed device that is absent here, with why.</summary>
    public static IEnumerable<TestCaseData> AbsentDevices() =>
        Registry.Devices.Where(d => !d.IsUsable).Select(d => new TestCaseData(d.Id, d.Note).SetArgDisplayNames(d.Id));
}
