using Accel.Backends;
using Accel.Backends.Reference;
using Accel.Core.Tests.Hosting;
using Accel.Errors;
using Accel.Graph;
using Accel.Hosting;
using Accel.Selection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Tests.Selection;

public sealed class StrictModeTests
{
    private static DeviceSelector Selector(bool configured, string? environment) =>
        new(new BackendRegistry([new ReferenceProvider()]), new AccelOptions { Strict = configured },
            environment is null ? new FakeEnvironment() : new FakeEnvironment((DeviceSelector.StrictVariable, environment)));

    [TestCase(true, "0", false, true)]
    [TestCase(false, "1", true, false)]
    [TestCase(null, "1", false, true)]
    [TestCase(null, "true", false, true)]
    [TestCase(null, "0", true, false)]
    [TestCase(null, null, true, true)]
    [TestCase(null, "", false, false)]
    public void Argument_beats_ACCEL_STRICT_beats_configuration(bool? argument, string? environment, bool configured, bool expected)
    {
        Assert.That(Selector(configured, environment).ResolveStrict(argument), Is.EqualTo(expected));
    }

    [Test]
    public void A_bad_ACCEL_STRICT_value_is_an_error()
    {
        var e = Assert.Throws<ConfigException>(() => Selector(false, "yes").ResolveStrict());
        Assert.That(e!.Message, Does.Contain("ACCEL_STRICT").And.Contain("'yes'"));
    }

    /// <summary>A fake cuda:0 that lacks TopK, with the reference device behind it.</summary>
    private static (ServiceProvider Services, FakeProvider Cuda) FallbackSetup(Dictionary<string, string?>? settings = null,
        IAccelEnvironment? environment = null, ListLogger? logs = null)
    {
        var cuda = new FakeProvider("cuda", [OpKind.TopK], FakeProvider.Present("cuda:0"));
        return (TestServices.Build(a => a.AddProvider(cuda).AddReference(), settings, environment, logs), cuda);
    }

    [Test]
    public void Strict_mode_turns_an_op_fallback_into_an_error_at_plan_time()
    {
        var (services, cuda) = FallbackSetup();
        using var _ = services;
        var (config, layer, weights) = TestServices.SmallLayer();
        var runtime = services.GetRequiredService<IAccelRuntime>();
        var e = Assert.Throws<BackendException>(() => runtime.CreateMoeLayer(config, layer, weights, "cuda:0", strict: true));
        Assert.That(e!.Message, Does.Contain("Strict mode").And.Contain("TopK").And.Contain("cuda:0").And.Contain("fall back to reference"));
        Assert.That(cuda.Opened.Single().IsDisposed, Is.True, "a failed creation closes the backends it opened");
        Assert.That(cuda.Opened.Single().AllocatedBytes, Is.Zero);
    }

    [TestCase("environment")]
    [TestCase("configuration")]
    public void Strict_mode_from_ACCEL_STRICT_or_Accel_Strict_is_plumbed_to_the_planner(string from)
    {
        var (services, _) = from == "environment"
            ? FallbackSetup(environment: new FakeEnvironment((DeviceSelector.StrictVariable, "1")))
            : FallbackSetup(settings: new() { ["Accel:Strict"] = "true" });
        using var __ = services;
        var (config, layer, weights) = TestServices.SmallLayer();
        var runtime = services.GetRequiredService<IAccelRuntime>();
        Assert.Throws<BackendException>(() => runtime.CreateMoeLayer(config, layer, weights, "cuda:0"));
        Assert.DoesNotThrow(() => runtime.CreateMoeLayer(config, layer, weights, "cuda:0", strict: false).Dispose(),
            "an explicit argument overrides the setting");
    }

    [Test]
    public void Without_strict_mode_the_fallback_is_placed_and_logged()
    {
        var logs = new ListLogger();
        var (services, _) = FallbackSetup(logs: logs);
        using var __ = services;
        var (config, layer, weights) = TestServices.SmallLayer();
        using var moe = services.GetRequiredService<IAccelRuntime>().CreateMoeLayer(config, layer, weights, "cuda:0");
        var fallbacks = moe.Layer.Session.Placements.Where(p => p.IsFallback).ToList();
        Assert.That(fallbacks, Is.Not.Empty);
        Assert.That(fallbacks.All(p => p.Node.Kind == OpKind.TopK && p.DeviceId == "reference"), Is.True);
        Assert.That(logs.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains("falls back to reference")), Is.True);
    }
}
