using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Cli.Tests;

/// <summary>How <c>accel run</c> and <c>accel moe</c> choose a device: --device, ACCEL_DEVICE, appsettings.json, auto.</summary>
public sealed class DeviceSelectionTests
{
    private CliRunner _cli = null!;

    [SetUp]
    public void SetUp() => _cli = new CliRunner();

    [TearDown]
    public void TearDown() => _cli.Dispose();

    private static readonly string[] Run = ["run", "--tokens", "3"];

    [Test]
    public void Accel_run_succeeds_with_no_settings_and_explains_the_auto_choice()
    {
        var r = _cli.Run(Run);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error);
        // Auto ranks by kind: a GPU when there is one, else the native cpu backend (never PoCL on the same CPU).
        using var services = Accel.Composition.AccelComposition.Create();
        bool gpu = services.Registry.Devices.Any(d => d.IsUsable && d.Rank == Accel.Backends.AutoRank.Gpu);
        Assert.That(r.Out, gpu ? Does.Match(@"device     (cuda|opencl):\d+ ") : Does.StartWith("device     cpu "));
        Assert.That(r.Out, Does.Contain("selected   auto: no device was named"));
        Assert.That(r.Out, Does.Contain("result     OK"));
    }

    [Test]
    public void ACCEL_DEVICE_selects_the_device()
    {
        var r = _cli.Run(Run, ("ACCEL_DEVICE", "reference"));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error);
        Assert.That(r.Out, Does.Contain("selected   environment: 'reference' was named by the environment variable ACCEL_DEVICE"));
    }

    [Test]
    public void Appsettings_json_in_the_working_directory_selects_the_device()
    {
        _cli.WriteSettings("""{ "Accel": { "Device": "reference" } }""");
        var r = _cli.Run(Run);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error);
        Assert.That(r.Out, Does.Contain("selected   configuration: 'reference' was named by the configuration key Accel:Device"));
    }

    [Test]
    public void ACCEL_DEVICE_beats_appsettings_json()
    {
        _cli.WriteSettings("""{ "Accel": { "Device": "nosuch" } }""");
        var r = _cli.Run(Run, ("ACCEL_DEVICE", "reference"));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error);
        Assert.That(r.Out, Does.Contain("selected   environment:").And.Contain("overriding Accel:Device='nosuch'"));
    }

    [Test]
    public void Device_option_beats_ACCEL_DEVICE_and_appsettings_json()
    {
        _cli.WriteSettings("""{ "Accel": { "Device": "nosuch" } }""");
        var r = _cli.Run([.. Run, "--device", "reference"], ("ACCEL_DEVICE", "also-missing"));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error);
        Assert.That(r.Out, Does.Contain("selected   argument: 'reference' was named by the explicit argument"));
    }

    [Test]
    public void An_unknown_device_is_exit_1_with_the_message_and_no_stack_trace()
    {
        var r = CliRunner.Capture(() => Program.Main([.. Run, "--device", "nosuch"]));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Error, Does.Contain("error: Unknown device 'nosuch'. Devices here: reference"));
        Assert.That(r.Error, Does.Not.Contain("   at ").And.Not.Contain("Exception"));
        Assert.That(r.Out, Does.Not.Contain("result"));
    }

    [Test]
    public void An_unknown_device_in_ACCEL_DEVICE_is_an_error_that_names_the_variable()
    {
        var r = _cli.Run(Run, ("ACCEL_DEVICE", "cuda:3"));
        Assert.That(r.ExitCode, Is.EqualTo(1));
        Assert.That(r.Error, Does.Contain("Unknown device 'cuda:3'").And.Contain("ACCEL_DEVICE"));
    }

    [TestCase("""{ "Accel": { "Device": "cuda:x" } }""", "Accel:Device 'cuda:x' is not a device string")]
    [TestCase("""{ "Accel": { "PlanCacheSize": -1 } }""", "Accel:PlanCacheSize is -1")]
    [TestCase("""{ "Accel": { "FallbackChain": [ "cuda" ] } }""", "No device of the fallback chain [cuda] is usable here")]
    [TestCase("""{ "Accel": """, "Fix the JSON or remove the file")]
    public void Bad_settings_are_exit_1_with_a_clear_message(string json, string expected)
    {
        _cli.WriteSettings(json);
        var r = _cli.Run(Run);
        Assert.That(r.ExitCode, Is.EqualTo(1), r.Out);
        Assert.That(r.Error, Does.Contain(expected));
        Assert.That(r.Error, Does.Not.Contain("   at "));
    }

    [Test]
    public void ACCEL_STRICT_turns_strict_mode_on_and_the_option_wins_over_the_file()
    {
        Assert.That(_cli.Run(Run, ("ACCEL_STRICT", "1")).Out, Does.Contain("strict     on"));
        _cli.WriteSettings("""{ "Accel": { "Strict": true } }""");
        Assert.That(_cli.Run(Run).Out, Does.Contain("strict     on"));
        Assert.That(_cli.Run([.. Run, "--strict", "false"]).Out, Does.Not.Contain("strict     on"));
    }

    [Test]
    public void Accel_moe_uses_the_selector_and_explains_the_choice()
    {
        var config = MoePresets.MixtralTiny;
        string dir = _cli.WorkingDirectory;
        File.WriteAllText(Path.Combine(dir, "config.json"), $$"""
            { "model_type": "mixtral", "hidden_size": {{config.Hidden}}, "num_local_experts": {{config.Experts}},
              "num_experts_per_tok": {{config.TopK}}, "intermediate_size": {{config.ExpertWidth}}, "num_hidden_layers": 2 }
            """);
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), SyntheticCheckpoint.Create(config, 0, SyntheticFormat.F32));
        SafetensorsWriter.Write(Path.Combine(dir, "input.safetensors"),
            new Dictionary<string, HostTensor> { ["hidden_states"] = SyntheticCheckpoint.Activations(3, config.Hidden) });
        string[] args = ["moe", "--config", Path.Combine(dir, "config.json"), "--weights", Path.Combine(dir, "model.safetensors"),
            "--input", Path.Combine(dir, "input.safetensors"), "--output", Path.Combine(dir, "out.safetensors"), "--explain"];

        var r = _cli.Run(args, ("ACCEL_DEVICE", "reference"));
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error);
        Assert.That(r.Out, Does.Contain("selected   environment: 'reference'"));
        Assert.That(r.Out, Does.Contain("-> reference"), "--explain lists the placements");
        Assert.That(File.Exists(Path.Combine(dir, "out.safetensors")), Is.True);

        var bad = _cli.Run(args, ("ACCEL_DEVICE", "opencl:99"));
        Assert.That(bad.ExitCode, Is.EqualTo(1));
        Assert.That(bad.Error, Does.Contain("opencl:99"));
    }
}
