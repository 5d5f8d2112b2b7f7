using Spectre.Console;

namespace Accel.Cli.Tests;

/// <summary><c>accel run --device &lt;shim profile&gt;</c> and the profile table of <c>accel devices</c>.</summary>
public sealed class ShimCommandTests
{
    private CliRunner _cli = null!;

    [SetUp]
    public void SetUp() => _cli = new CliRunner();

    [TearDown]
    public void TearDown() => _cli.Dispose();

    [TestCase("ascend-910b")]
    [TestCase("cambricon-mlu370-x8")]
    [TestCase("hygon-k100-ai")]
    public void Run_on_a_shim_matches_the_reference_and_explains_placements(string device)
    {
        var r = _cli.Run(["run", "--tokens", "2", "--device", device, "--explain"]);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error);
        Assert.That(r.Out, Does.Contain($"device     {device}"));
        Assert.That(r.Out, Does.Contain($"GroupedGemm        -> {device}"));
        Assert.That(r.Out, Does.Contain("result     OK"));
    }

    [Test]
    public void Strict_mode_from_settings_applies_to_a_shim()
    {
        _cli.WriteSettings("""{ "Accel": { "Strict": true } }""");
        var r = _cli.Run(["run", "--tokens", "2", "--device", "ascend-910b"]);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error + r.Out);
        Assert.That(r.Out, Does.Contain("result     OK"));
    }

    [Test]
    public void Devices_lists_the_shims_and_every_profile_with_a_status()
    {
        var r = Devices();
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error);
        Assert.That(r.Out, Does.Contain("ascend-910b").And.Contain("emulated").And.Contain("profiles"), r.Out);
        Assert.That(r.Out, Does.Contain("nvidia-h200").And.Contain("opencl-generic").And.Contain("cpu-host"));
    }

    [Test]
    public void A_profile_written_into_a_configured_folder_is_a_device()
    {
        string folder = Path.Combine(_cli.WorkingDirectory, "my-profiles");
        Directory.CreateDirectory(folder);
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(
            Path.Combine(Profiles.HardwareProfileLoader.ShippedFolder, "hygon-k100-ai.json")))!.AsObject();
        json["id"] = "my-dcu";
        File.WriteAllText(Path.Combine(folder, "my-dcu.json"), json.ToJsonString());
        _cli.WriteSettings("""{ "Accel": { "ProfileDirectories": [ "my-profiles" ] } }""");

        var devices = Devices();
        Assert.That(devices.ExitCode, Is.EqualTo(0), devices.Error);
        Assert.That(devices.Out, Does.Contain("my-dcu"));
        var r = _cli.Run(["run", "--tokens", "2", "--device", "my-dcu"]);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error);
        Assert.That(r.Out, Does.Contain("device     my-dcu").And.Contain("result     OK"));
    }

    /// <summary>
    /// Runs <c>accel devices</c> with Spectre's console bound to the captured output (it keeps the
    /// writer it first saw otherwise) and wide enough that ids are not wrapped.
    /// </summary>
    private CliResult Devices() => CliRunner.Capture(() =>
    {
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        AnsiConsole.Profile.Width = 240;
        return Program.Run(["devices"], new CliContext(new FakeEnvironment(), _cli.WorkingDirectory));
    });
}
