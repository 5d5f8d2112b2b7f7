using System.CommandLine;
using Accel.Profiles;
using Accel.Types;
using Spectre.Console;

namespace Accel.Cli.Commands;

/// <summary><c>accel profile</c>: list the hardware profiles and validate a user's profile file.</summary>
public static class ProfileCommand
{
    /// <summary>Creates the verb with its <c>validate</c> and <c>list</c> subcommands.</summary>
    public static Command Create()
    {
        var path = new Argument<FileInfo>("path") { Description = "The profile file (JSON) to check." };
        var validate = new Command("validate", "Check a hardware profile file and print what it describes.") { path };
        validate.SetAction(r => CliErrors.Guard(() => Validate(r.GetValue(path)!)));

        var extra = new Option<DirectoryInfo[]>("--profiles") { Description = "Extra folders of profiles (later ones override ids)." };
        var list = new Command("list", "List the shipped profiles (and those in --profiles folders).") { extra };
        list.SetAction(r => CliErrors.Guard(() => List(r.GetValue(extra) ?? [])));

        return new Command("profile", "Hardware profiles: the device shapes Accel knows.") { validate, list };
    }

    private static int Validate(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new Errors.InvalidInputException($"The profile file '{file}' does not exist.");
        }

        var p = HardwareProfileLoader.LoadFile(file.FullName);
        Console.WriteLine($"{file.Name}: valid profile '{p.Id}' ({p.Identity.Vendor} {p.Identity.Model})");
        Console.WriteLine($"  shim {p.Shim.Name()}, targets {string.Join(" > ", p.Targets.Select(t => t.Name()))}");
        Console.WriteLine($"  memory {Bytes(p.Memory.DeviceBytes)}, bandwidth {Describe(p.Memory.Bandwidth)}, alignment {p.Memory.EffectiveAlignment} B");
        Console.WriteLine($"  dtypes {string.Join(", ", Enum.GetValues<DType>().Where(t => p.DTypes.Supported.Contains(t)).Select(t => t.ShortName()))}" +
            (p.DTypes.Legalize.Count > 0 ? $"; legalised: {string.Join(", ", p.DTypes.Legalize)}" : ""));
        Console.WriteLine($"  GEMM tile {p.Kernels.GemmTile.M}x{p.Kernels.GemmTile.N}x{p.Kernels.GemmTile.K}");
        return 0;
    }

    private static int List(DirectoryInfo[] extra)
    {
        var catalog = new HardwareProfileLoader().LoadCatalog(extra.Select(d => d.FullName));
        var table = new Table().AddColumns("id", "vendor / model", "shim", "targets", "memory", "bandwidth");
        foreach (var p in catalog.Profiles)
        {
            table.AddRow(p.Id, Markup.Escape($"{p.Identity.Vendor} {p.Identity.Model}"), p.Shim.Name(),
                string.Join(" > ", p.Targets.Select(t => t.Name())), Markup.Escape(Bytes(p.Memory.DeviceBytes)),
                Markup.Escape(Describe(p.Memory.Bandwidth)));
        }

        AnsiConsole.Write(table);
        foreach (var o in catalog.Overrides)
        {
            Console.WriteLine(o);
        }

        return 0;
    }

    private static string Bytes(Figure f) =>
        f.BaseValueAsInt64 is long b ? Backends.BackendBase.Format(b) : "unknown";

    private static string Describe(Figure? f) => f?.Value is double v ? $"{v:G4} {f.Unit}" : "unknown";
}
