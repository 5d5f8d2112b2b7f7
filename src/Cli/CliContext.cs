using System.CommandLine;
using Accel.Backends;
using Accel.Errors;
using Accel.Hosting;
using Accel.Selection;
using Microsoft.Extensions.Configuration;

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

    /// <summary>Reads the <c>Accel</c> section of the settings files (defaults when there is none).</summary>
    public AccelOptions LoadOptions()
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, SettingsFile), optional: true)
            .AddJsonFile(Path.Combine(Path.GetFullPath(WorkingDirectory), SettingsFile), optional: true);
        IConfigurationRoot root;
        try
        {
            root = builder.Build();
        }
        catch (InvalidDataException e)
        {
            throw new ConfigException($"{e.Message} {e.InnerException?.Message} Fix the JSON or remove the file.");
        }

        try
        {
            return AccelOptions.FromConfiguration(root);
        }
        finally
        {
            (root as IDisposable)?.Dispose();
        }
    }

    /// <summary>A selector over <paramref name="registry"/> with this context's settings and environment.</summary>
    public DeviceSelector CreateSelector(BackendRegistry registry) => new(registry, LoadOptions(), Environment);

    /// <summary>The value of a flag when it was given on the command line, else null (so settings apply).</summary>
    public static bool? Flag(ParseResult result, Option<bool> option) =>
        result.GetResult(option) is { Implicit: false } ? result.GetValue(option) : null;
}
