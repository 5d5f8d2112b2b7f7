using Accel.Backends;
using Accel.Backends.Reference;
using Accel.Core.Tests.Selection;
using Accel.Errors;
using Accel.Hosting;
using Accel.Selection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Accel.Core.Tests.Hosting;

public sealed class AddAccelTests
{
    [Test]
    public void AddAccel_twice_is_harmless()
    {
        using var services = TestServices.Build(
            a => a.AddReference().AddReference().Services.AddAccel(b => b.AddReference()),
            new() { ["Accel:ProfileDirectories:0"] = "profiles" });
        Assert.That(services.GetServices<IBackendProvider>().Count(), Is.EqualTo(1));
        Assert.That(services.GetServices<IAccelRuntime>().Count(), Is.EqualTo(1));
        Assert.That(services.GetRequiredService<IOptions<AccelOptions>>().Value.ProfileDirectories, Is.EqualTo(new[] { "profiles" }),
            "the section is bound once, so lists are not doubled");
        Assert.That(services.GetRequiredService<IAccelRuntime>().Devices.Select(d => d.Id), Is.EqualTo(new[] { "reference" }));
    }

    [Test]
    public void AddAccel_works_on_a_plain_service_collection_without_configuration()
    {
        var collection = new ServiceCollection();
        collection.AddAccel(a => a.AddReference().Configure(o => o.Strict = true));
        using var services = collection.BuildServiceProvider(validateScopes: true);
        var runtime = services.GetRequiredService<IAccelRuntime>();
        Assert.That(services.GetRequiredService<IOptions<AccelOptions>>().Value.Strict, Is.True, "options set in code apply");
        Assert.That(runtime.Select().DeviceId, Is.EqualTo("reference"));
        Assert.That(runtime.ResolveStrict(), Is.True);
    }

    [Test]
    public void Backend_options_bind_from_their_section_then_code()
    {
        using var services = TestServices.Build(a => a.AddBackendOptions<SampleOptions>("Sample", null, o => o with { Limit = o.Limit + 1 }),
            new() { ["Accel:Backends:Sample:Limit"] = "41", ["Accel:Backends:Sample:Name"] = "x" });
        Assert.That(services.GetRequiredService<SampleOptions>(), Is.EqualTo(new SampleOptions { Limit = 42, Name = "x" }));
    }

    [Test]
    public void An_unknown_backend_option_key_is_an_error_that_lists_the_keys()
    {
        using var services = TestServices.Build(a => a.AddBackendOptions<SampleOptions>("Sample", null, null),
            new() { ["Accel:Backends:Sample:Limt"] = "41" });
        var e = Assert.Throws<ConfigException>(() => services.GetRequiredService<SampleOptions>())!;
        Assert.That(e.Message, Does.Contain("Accel:Backends:Sample").And.Contain("Limt").And.Contain("Limit, Name"));
    }

    /// <summary>Options of a made-up backend.</summary>
    public sealed record SampleOptions
    {
        public int Limit { get; init; } = 1;

        public string Name { get; init; } = "";
    }

    [Test]
    public void A_provider_instance_and_its_type_register_once()
    {
        using var services = TestServices.Build(a => a.AddProvider(new ReferenceProvider()).AddProvider<ReferenceProvider>());
        Assert.That(services.GetServices<IBackendProvider>().Count(), Is.EqualTo(1));
    }

    [Test]
    public void Core_registers_no_backend_by_itself()
    {
        using var services = TestServices.Build(_ => { });
        var runtime = services.GetRequiredService<IAccelRuntime>();
        Assert.That(runtime.Devices, Is.Empty);
        var e = Assert.Throws<BackendUnavailableException>(() => runtime.Select());
        Assert.That(e!.Message, Does.Contain("Devices here: none"));
    }

    [Test]
    public void Options_and_the_device_come_from_appsettings_json()
    {
        string folder = Directory.CreateTempSubdirectory("accel-hosting-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, "appsettings.json"), """
                { "Accel": { "Device": "reference", "Strict": true, "FallbackChain": [ "opencl", "reference" ],
                             "ProfileDirectories": [ "hw-profiles" ], "PlanCacheSize": 2 } }
                """);
            var configuration = new ConfigurationBuilder().SetBasePath(folder).AddJsonFile("appsettings.json").Build();
            using var services = TestServices.Build(configuration: configuration);
            var options = services.GetRequiredService<IOptions<AccelOptions>>().Value;
            Assert.That(options.Device, Is.EqualTo("reference"));
            Assert.That(options.Strict, Is.True);
            Assert.That(options.FallbackChain, Is.EqualTo(new[] { "opencl", "reference" }), "replaces the default chain, not appended to it");
            Assert.That(options.ProfileDirectories, Is.EqualTo(new[] { "hw-profiles" }));
            Assert.That(options.PlanCacheSize, Is.EqualTo(2));
            var selection = services.GetRequiredService<IAccelRuntime>().Select();
            Assert.That(selection.Source, Is.EqualTo(SelectionSource.Configuration));
            Assert.That(selection.Reason, Does.Contain("Accel:Device"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void ACCEL_DEVICE_beats_the_configuration_and_an_argument_beats_both()
    {
        var cuda = new FakeProvider("cuda", FakeProvider.Present("cuda:0"));
        using var services = TestServices.Build(a => a.AddProvider(cuda).AddReference(), new() { ["Accel:Device"] = "nosuch" },
            new FakeEnvironment((DeviceSelector.DeviceVariable, "cuda:0")));
        var runtime = services.GetRequiredService<IAccelRuntime>();
        Assert.That(runtime.Select().Source, Is.EqualTo(SelectionSource.Environment));
        Assert.That(runtime.Select().DeviceId, Is.EqualTo("cuda:0"));
        Assert.That(runtime.Select("reference").Source, Is.EqualTo(SelectionSource.Argument));
    }

    [Test]
    public void Without_any_setting_auto_is_used()
    {
        using var services = TestServices.Build();
        var selection = services.GetRequiredService<IAccelRuntime>().Select();
        Assert.That(selection.Source, Is.EqualTo(SelectionSource.Auto));
        Assert.That(selection.DeviceId, Is.EqualTo("reference"));
    }

    [TestCase("Device", "cuda:x", "Accel:Device 'cuda:x' is not a device string")]
    [TestCase("PlanCacheSize", "-1", "Accel:PlanCacheSize is -1; it must be at least 1")]
    [TestCase("FallbackChain:0", "cuda:", "Accel:FallbackChain[0] 'cuda:' is not a device or device prefix")]
    [TestCase("FallbackChain:0", "auto", "Accel:FallbackChain[0] 'auto'")]
    public void Invalid_settings_fail_on_start_with_a_clear_message(string key, string value, string expected)
    {
        using var services = TestServices.Build(settings: new() { [$"Accel:{key}"] = value });
        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        Assert.That(e!.Message, Does.Contain(expected));
        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IAccelRuntime>());
    }

    [Test]
    public void An_empty_fallback_chain_fails_on_start()
    {
        using var services = TestServices.Build(a => a.AddReference().Configure(o => o.FallbackChain = []));
        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        Assert.That(e!.Message, Does.Contain("Accel:FallbackChain is empty; list at least one device"));
    }

    [Test]
    public void Every_problem_is_reported_at_once()
    {
        using var services = TestServices.Build(a => a.AddReference().Configure(o =>
        {
            o.Device = "cu da";
            o.FallbackChain = [];
            o.PlanCacheSize = -3;
        }));
        var e = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        Assert.That(e!.Failures.Count(), Is.EqualTo(3));
    }

    [Test]
    public void Valid_settings_pass_on_start()
    {
        using var services = TestServices.Build(settings: new() { ["Accel:Device"] = "auto", ["Accel:FallbackChain:0"] = "reference" });
        Assert.DoesNotThrow(() => services.GetRequiredService<IStartupValidator>().Validate());
    }

    [Test]
    public void Options_outside_dependency_injection_are_validated_too()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Accel:Strict"] = "maybe" }).Build();
        var e = Assert.Throws<ConfigException>(() => AccelOptions.FromConfiguration(configuration));
        Assert.That(e!.Message, Does.Contain("'maybe'").And.Contain("true or false"));
    }
}
