using Accel.Selection;

namespace Accel.Cli.Tests;

/// <summary>The outcome of one in-process run of the <c>accel</c> command.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error);

/// <summary>Environment variables from a dictionary instead of the process.</summary>
internal sealed class FakeEnvironment(params (string Name, string Value)[] variables) : IAccelEnvironment
{
    private readonly Dictionary<string, string> _variables = variables.ToDictionary(v => v.Name, v => v.Value);

    public string? GetVariable(string name) => _variables.GetValueOrDefault(name);
}

/// <summary>
/// Runs the command line in this process with captured standard output and error, in a fresh
/// working directory (where a test may put an appsettings.json) and with its own environment.
/// </summary>
internal sealed class CliRunner : IDisposable
{
    public CliRunner() => WorkingDirectory = Directory.CreateTempSubdirectory("accel-cli-").FullName;

    public string WorkingDirectory { get; }

    public void WriteSettings(string json) => File.WriteAllText(Path.Combine(WorkingDirectory, "appsettings.json"), json);

    public CliResult Run(string[] args, params (string Name, string Value)[] environment) =>
        Capture(() => Program.Run(args, new CliContext(new FakeEnvironment(environment), WorkingDirectory)));

    public static CliResult Capture(Func<int> run)
    {
        var (oldOut, oldError) = (Console.Out, Console.Error);
        using var output = new StringWriter();
        using var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            int code = run();
            return new CliResult(code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }

    public void Dispose() => Directory.Delete(WorkingDirectory, recursive: true);
}
