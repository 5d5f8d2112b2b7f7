using System.CommandLine;

namespace Accel.Cli;

/// <summary>Entry point of the <c>accel</c> command.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the chosen verb.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand("Accel: run Mixture-of-Experts layers on any accelerator.");
        return root.Parse(args).Invoke();
    }
}
