using System.CommandLine;
using Accel.Cli.Commands;

namespace Accel.Cli;

/// <summary>Entry point of the <c>accel</c> command.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the chosen verb.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand("Accel: run Mixture-of-Experts layers on any accelerator.");
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(MoeCommand.Create());
        root.Subcommands.Add(DevicesCommand.Create());
        root.Subcommands.Add(ConformanceCommand.Create());
        return root.Parse(args).Invoke();
    }
}
