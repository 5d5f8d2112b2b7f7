using System.CommandLine;
using Accel.Composition;
using Accel.Errors;
using Accel.Hosting;
using Accel.Selection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Accel.Cli;

/// <summary>
/// What the commands read from outside the command line: environment variables
/// (<c>ACCEL_DEVICE</c>, <c>ACCEL_STRICT</c>) and an optional appsettings.json next to the
/// executable or in the working directory (the latter wins). Tests pass their own.
/// </summary>
/// <param name="environment">Where environment variables are read.</param>
/// <param name="workingDirectory">The folder searched for appsettings.json after the executable's folder.</param>
public sealed class CliContext(IAccelEnvironment environment, string workingDirectory)
{
    /// <summary>The settings file the command line reads, if present.</summary>
    public const string SettingsFile = "appsettings.json";

    /// <summary>Where environment variables are read.</summary>
    public IAccelEnvironment Environment { get; } = environment;

    /// <summary>The folder searched for appsettings.json after the executable's folder.</summary>
    public string WorkingDirectory { get; } = workingDirectory;

    /// <summary>The process's environment and current directory.</summary>
    public static CliContext FromProcess() => new(ProcessEnvironment.Instance, Directory.GetCurrentDirectory());

    /// <summary>
    /// The composition root of every verb: the runtime over every shipped backend, with the settings
    /// files, this context's environment and <paramref name="configure"/> (the verb's own flags, which
    /// take precedence). Relative <c>Accel:ProfileDirectories</c> are taken from <see cref="WorkingDirectory"/>.
    /// Warnings (such as an op falling back to another device) go to standard error.
    /// </summary>
    /// <param name="configure">Registrations and options set by the verb, or null.</param>
    /// <returns>The services; dispose them when the verb ends.</returns>
    public AccelServices CreateServices(Action<AccelBuilder>? configure = null)
    {
        return AccelComposition.Create(LoadConfiguration(), Environment, Loggers, accel =>
        {
            accel.Configure(o => o.ProfileDirectories = [.. o.ProfileDirectories.Select(f => Path.GetFullPath(f, WorkingDirectory))]);
            configure?.Invoke(accel);
        });
    }

    /// <summary>The loggers of the command line: warnings and errors, to standard error.</summary>
    private static ILoggerFactory Loggers { get; } = LoggerFactory.Create(b => b
        .SetMinimumLevel(LogLevel.Warning)
        .AddSimpleConsole(o => o.SingleLine = true)
        .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

    private IConfigurationRoot LoadConfiguration()
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, SettingsFile), optional: true)
            .AddJsonFile(Path.Combine(Path.GetFullPath(WorkingDirectory), SettingsFile), optional: true);
        try
        {
            return builder.Build();
        }
        catch (InvalidDataException e)
        {
            throw new ConfigException($"{e.Message} {e.InnerException?.Message} Fix the JSON or remove the file.");
        }
    }

    /// <summary>The value of a flag when it was given on the command line, else null (so settings apply).</summary>
    public static bool? Flag(ParseResult result, Option<bool> option) =>
        result.GetResult(option) is { Implicit: false } ? result.GetValue(option) : null;
}
