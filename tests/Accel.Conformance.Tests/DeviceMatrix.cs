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

    /// <summary>Every case; slow ones carry the category <c>slow</c>, quick ones <c>quick</c>.</summary>
    public static IEnumerable<TestCaseData> Cases()
    {
        foreach (var c in CaseCatalog.All)
        {
            var data = new TestCaseData(c).SetArgDisplayNames(c.Id);
            if (c.Slow)
            {
                data.SetCategory("slow");
            }

            if (c.Quick)
            {
                data.SetCategory("quick");
            }

            yield return data;
        }
    }
}
