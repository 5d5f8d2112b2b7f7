using System.CommandLine;
using Accel.Cli.Commands;

namespace Accel.Cli;

/// <summary>Entry point of the <c>accel</c> command.</summary>
public static class Program
{
    /// <summary>
    /// How long a verb with a cancellable action has, after Ctrl-C or SIGTERM cancels its token, to
    /// stop and delete its temporary files before the process exits anyway (exit code 130 or 143).
    /// Without it System.CommandLine installs no signal handlers and a signal ends the process at once.
    /// </summary>
    public static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(2);

    /// <summary>Parses the command line and runs the chosen verb.</summary>
    public static int Main(string[] args) => Run(args, CliContext.FromProcess());

    /// <summary>Runs the command line with the given environment and working directory (for tests and hosts).</summary>
    public static int Run(string[] args, CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var root = new RootCommand("Accel: run Mixture-of-Experts layers on any accelerator.");
        root.Subcommands.Add(RunCommand.Create(context));
        root.Subcommands.Add(MoeCommand.Create(context));
        root.Subcommands.Add(DevicesCommand.Create(context));
        root.Subcommands.Add(ExampleCommand.Create());
        root.Subcommands.Add(ProfileCommand.Create());
        root.Subcommands.Add(ConformanceCommand.Create(context));
        root.Subcommands.Add(BenchCommand.Create(context));
        return root.Parse(args).Invoke(new InvocationConfiguration { ProcessTerminationTimeout = InterruptGrace });
    }
}
