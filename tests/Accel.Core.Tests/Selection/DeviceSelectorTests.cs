using Accel.Backends;
using Accel.Backends.Reference;
using Accel.Errors;
using Accel.Hosting;
using Accel.Selection;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Tests.Selection;

public sealed class DeviceSelectorTests
{
    /// <summary>cuda:0 absent, cuda:1 and opencl:0 present, plus the reference device.</summary>
    private static BackendRegistry Registry() => new([
        new FakeProvider("cuda", FakeProvider.Absent("cuda:0", "no NVIDIA driver"), FakeProvider.Present("cuda:1")),
        new FakeProvider("opencl", FakeProvider.Present("opencl:0")),
        new ReferenceProvider(),
    ]);

    private static DeviceSelector Selector(string? configured = null, string? environment = null, IList<string>? chain = null,
        BackendRegistry? registry = null, ILogger? logger = null)
    {
        var env = environment is null ? new FakeEnvironment() : new FakeEnvironment((DeviceSelector.DeviceVariable, environment));
        var options = new AccelOptions { Device = configured, FallbackChain = chain };
        return new DeviceSelector(registry ?? Registry(), options, env, logger);
    }

    // argument, environment, configuration -> expected device and source
    private static readonly object?[][] Precedence =
    [
        ["opencl:0", "cuda:1", "reference", "opencl:0", SelectionSource.Argument],
        [null, "cuda:1", "reference", "cuda:1", SelectionSource.Environment],
        [null, null, "reference", "reference", SelectionSource.Configuration],
        [null, null, null, "cuda:1", SelectionSource.Auto],
        ["  ", "", " ", "cuda:1", SelectionSource.Auto],
    ];

    [TestCaseSource(nameof(Precedence))]
    public void Argument_beats_environment_beats_configuration_beats_auto(string? argument, string? environment,
        string? configured, string expected, SelectionSource source)
    {
        var selection = Selector(configured, environment).Select(argument);
        Assert.That(selection.DeviceId, Is.EqualTo(expected));
        Assert.That(selection.Source, Is.EqualTo(source));
        Assert.That(selection.IsAuto, Is.EqualTo(source == SelectionSource.Auto));
    }

    [Test]
    public void The_reason_names_the_source_and_what_it_overrode()
    {
        var selection = Selector(configured: "reference", environment: "cuda:1").Select("opencl:0");
        Assert.That(selection.Reason, Does.Contain("explicit argument"));
        Assert.That(selection.Reason, Does.Contain("ACCEL_DEVICE='cuda:1'"));
        Assert.That(selection.Reason, Does.Contain("Accel:Device='reference'"));
    }

    [Test]
    public void Auto_walks_the_chain_in_order_and_skips_absent_devices()
    {
        var selection = Selector(chain: ["ilgpu-cpu", "cuda", "opencl", "reference"]).Select();
        Assert.That(selection.DeviceId, Is.EqualTo("cuda:1"), "cuda matches cuda:0 and cuda:1; cuda:0 is absent");
        Assert.That(selection.Reason, Does.Contain("cuda:0 (absent: no NVIDIA driver)"));
        Assert.That(selection.Reason, Does.Contain("ilgpu-cpu (no such device registered)"));
    }

    [Test]
    public void Auto_takes_the_first_chain_entry_that_has_a_usable_device()
    {
        Assert.That(Selector(chain: ["opencl", "cuda"]).Select().DeviceId, Is.EqualTo("opencl:0"));
        Assert.That(Selector(chain: ["reference", "cuda"]).Select().DeviceId, Is.EqualTo("reference"));
        Assert.That(Selector(chain: ["cuda:0", "opencl:0"]).Select().DeviceId, Is.EqualTo("opencl:0"), "an exact id only matches itself");
    }

    // devices as (id, rank, present) in registration order -> what auto picks without a configured chain
    private static readonly object[][] Ranking =
    [
        [new[] { "opencl:0/PortableCpu", "cpu/NativeCpu", "ilgpu-cpu/Simulator", "reference/Reference" }, "cpu"],
        [new[] { "ilgpu-cpu/Simulator", "opencl:0/PortableCpu", "reference/Reference" }, "opencl:0"],
        [new[] { "cpu/NativeCpu", "opencl:0/PortableCpu", "opencl:1/Gpu" }, "opencl:1"],
        [new[] { "npu/Accelerator", "cuda:0/Gpu" }, "cuda:0"],
        [new[] { "cuda:0/Gpu!", "cpu/NativeCpu" }, "cpu"],
        [new[] { "ascend-910b/Never", "reference/Reference" }, "reference"],
        [new[] { "opencl:0/PortableCpu", "opencl:1/PortableCpu" }, "opencl:0"],
    ];

    [TestCaseSource(nameof(Ranking))]
    public void Auto_without_a_chain_ranks_devices_by_kind(string[] devices, string expected)
    {
        var descriptors = devices.Select(d =>
        {
            string[] parts = d.TrimEnd('!').Split('/');
            var rank = Enum.Parse<AutoRank>(parts[1]);
            return d.EndsWith('!') ? FakeProvider.Absent(parts[0], "not here", rank) : FakeProvider.Present(parts[0], rank);
        }).ToArray();
        var registry = new BackendRegistry(descriptors.Select(d => new FakeProvider(d.Id.Split(':')[0] + d.Id, d)));
        var selection = Selector(registry: registry).Select();
        Assert.That(selection.DeviceId, Is.EqualTo(expected));
        Assert.That(selection.Reason, Does.Contain("ranked the usable devices by kind"));
        if (devices.Any(d => d.EndsWith('!')))
        {
            Assert.That(selection.Reason, Does.Contain("absent: not here"), "a better-ranked absent device is reported");
        }
    }

    [Test]
    public void Auto_without_a_chain_never_picks_an_emulated_device()
    {
        var registry = new BackendRegistry([new FakeProvider("shim", FakeProvider.Present("ascend-910b", AutoRank.Never))]);
        var e = Assert.Throws<BackendUnavailableException>(() => Selector(registry: registry).Select())!;
        Assert.That(e.Message, Does.Contain("ascend-910b (present)").And.Contain("--device"));
        Assert.That(Selector(registry: registry).Select("ascend-910b").DeviceId, Is.EqualTo("ascend-910b"), "it can still be named");
    }

    [Test]
    public void Explicit_auto_walks_the_chain_but_keeps_its_source()
    {
        var selection = Selector(configured: "cuda:1", environment: "AUTO").Select();
        Assert.That(selection.DeviceId, Is.EqualTo("cuda:1"));
        Assert.That(selection.Source, Is.EqualTo(SelectionSource.Environment));
        Assert.That(selection.IsAuto, Is.True);
    }

    [Test]
    public void Auto_with_nothing_usable_is_an_error_listing_what_is_present()
    {
        var e = Assert.Throws<BackendUnavailableException>(() => Selector(chain: ["cuda:0", "ilgpu-cpu"]).Select());
        Assert.That(e!.Message, Does.Contain("cuda:0 (absent: no NVIDIA driver)"));
        Assert.That(e.Message, Does.Contain("Devices here: cuda:1, opencl:0, reference"));
    }

    [Test]
    public void An_empty_configured_chain_is_an_error_not_the_default()
    {
        var e = Assert.Throws<BackendUnavailableException>(() => Selector(chain: []).Select());
        Assert.That(e!.Message, Does.Contain("fallback chain []"));
    }

    [TestCase("cuda:0", "is not present: no NVIDIA driver")]
    [TestCase("opencl:7", "Unknown device 'opencl:7'")]
    [TestCase("ascend-910b", "Unknown device 'ascend-910b'")]
    public void A_named_device_that_is_absent_or_unknown_is_an_error_not_a_fallback(string device, string expected)
    {
        foreach (var selector in new Func<DeviceSelection>[]
        {
            () => Selector().Select(device),
            () => Selector(environment: device).Select(),
            () => Selector(configured: device).Select(),
        })
        {
            var e = Assert.Throws<BackendUnavailableException>(() => selector());
            Assert.That(e!.Message, Does.Contain(expected));
            Assert.That(e.Message, Does.Contain("Devices here: cuda:1, opencl:0, reference"));
        }
    }

    [Test]
    public void The_error_says_which_setting_named_the_device()
    {
        var e = Assert.Throws<BackendUnavailableException>(() => Selector(environment: "nosuch").Select());
        Assert.That(e!.Message, Does.Contain("ACCEL_DEVICE"));
    }

    [TestCase("cuda:x")]
    [TestCase("cuda:-1")]
    [TestCase("cu da")]
    public void A_malformed_device_string_is_an_error(string device)
    {
        var e = Assert.Throws<ConfigException>(() => Selector(environment: device).Select());
        Assert.That(e!.Message, Does.Contain($"'{device}'").And.Contain("ACCEL_DEVICE").And.Contain("cuda:0"));
    }

    [Test]
    public void Device_strings_are_trimmed_and_case_insensitive()
    {
        Assert.That(Selector().Select("  OpenCL:0 ").DeviceId, Is.EqualTo("opencl:0"));
    }

    [Test]
    public void The_choice_and_the_reason_are_logged()
    {
        var logger = new ListLogger();
        var selection = Selector(logger: logger).Select();
        var entry = logger.Entries.Single(e => e.Level == LogLevel.Information);
        Assert.That(entry.Message, Does.Contain("cuda:1").And.Contain("Auto").And.Contain(selection.Reason));
    }

    [Test]
    public void Selecting_does_not_open_the_device()
    {
        var cuda = new FakeProvider("cuda", FakeProvider.Present("cuda:0"));
        new DeviceSelector(new BackendRegistry([cuda]), new AccelOptions(), new FakeEnvironment()).Select("cuda:0");
        Assert.That(cuda.Opened, Is.Empty);
    }

    [Test]
    public void The_process_environment_reads_real_variables()
    {
        string name = $"ACCEL_TEST_{Guid.NewGuid():N}";
        Environment.SetEnvironmentVariable(name, "opencl:0");
        try
        {
            Assert.That(ProcessEnvironment.Instance.GetVariable(name), Is.EqualTo("opencl:0"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }
}
