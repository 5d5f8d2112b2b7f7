using System.CommandLine;
using Accel.Cli.Commands;
using Accel.Selection;
using Spectre.Console;

namespace Accel.Cli.Tests;

/// <summary><c>accel conformance</c> writes its reports and refuses bad devices and filters.</summary>
public sealed class ConformanceCommandTests
{
    private string _dir = "";

    [SetUp]
    public void MakeFolder() => _dir = Directory.CreateTempSubdirectory("accel-conformance-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_dir, recursive: true);

    private static readonly string WorkingDirectory = Directory.GetCurrentDirectory();

    private static int Cli(params string[] args) => Cli(ProcessEnvironment.Instance, args);

    private static int Cli(IAccelEnvironment environment, params string[] args)
    {
        // Another test may have left Spectre's console on a writer it closed.
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        var root = new RootCommand("test");
        root.Subcommands.Add(ConformanceCommand.Create(new CliContext(environment, WorkingDirectory)));
        return root.Parse(["conformance", .. args]).Invoke();
    }

    [Test]
    public void The_verb_writes_reports_and_the_matrix_and_exits_0_when_everything_passes()
    {
        int rc = Cli("--device", "reference", "--filter", "Add(type=f32,tokens=1", "--report", _dir, "--write-matrix", _dir);
        Assert.That(rc, Is.EqualTo(0));
        Assert.That(File.Exists(Path.Combine(_dir, "conformance-reference.json")), Is.True);
        Assert.That(File.Exists(Path.Combine(_dir, "conformance-reference.md")), Is.True);
        Assert.That(File.ReadAllText(Path.Combine(_dir, "reference.md")), Does.Contain("| GroupedGemm | f8e4m3 | yes |"));
    }

    [Test]
    public void The_verb_rejects_an_unknown_device_and_a_filter_that_matches_nothing()
    {
        Assert.That(Cli("--device", "no-such-device", "--filter", "quick"), Is.EqualTo(1));
        Assert.That(Cli("--device", "reference", "--filter", "NoSuchOp("), Is.EqualTo(1));
    }

    [Test]
    public void Without_a_device_the_verb_tests_the_device_the_selector_chooses()
    {
        int rc = Cli(new FakeEnvironment(("ACCEL_DEVICE", "reference")), "--filter", "Add(type=f32,tokens=1", "--report", _dir);
        Assert.That(rc, Is.EqualTo(0));
        Assert.That(File.Exists(Path.Combine(_dir, "conformance-reference.json")), Is.True, "ACCEL_DEVICE chose the device");
    }
}
