using System.CommandLine;
using Accel.Backends;
using Accel.Backends.Shims;
using Spectre.Console;

namespace Accel.Cli.Commands;

/// <summary><c>accel devices</c>: every backend and device with its status and why.</summary>
public static class DevicesCommand
{
    /// <summary>Creates the verb.</summary>
    public static Command Create(CliContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var command = new Command("devices", "List every backend and device, present, emulated or absent, and why.");
        command.SetAction(_ => CliErrors.Guard(() =>
        {
            using var services = context.CreateServices();
            var registry = services.Registry;
            var table = new Table().AddColumns("device", "backend", "status", "name", "memory", "note");
            foreach (var d in registry.Devices)
            {
                table.AddRow(Markup.Escape(d.Id), Markup.Escape(d.Backend), Status(d.Status), Markup.Escape(d.Name),
                    d.MemoryBytes is long m ? BackendBase.Format(m) : "-", Markup.Escape(d.Note));
            }

            AnsiConsole.Write(table);
            var shims = registry.Providers.OfType<ShimProvider>().FirstOrDefault();
            if (shims is not null)
            {
                var profiles = new Table().Title("profiles").AddColumns("profile", "shim", "status", "device", "note");
                foreach (var p in ShimProvider.Statuses(shims.Catalog, registry.Devices))
                {
                    profiles.AddRow(Markup.Escape(p.Profile.Id), Markup.Escape(p.Profile.Shim.ToString().ToLowerInvariant()),
                        Status(p.Status), Markup.Escape($"{p.Profile.Identity.Vendor} {p.Profile.Identity.Model}"), Markup.Escape(p.Note));
                }

                AnsiConsole.Write(profiles);
            }

            return 0;
        }));
        return command;
    }

    private static string Status(DeviceStatus status) => status switch
    {
        DeviceStatus.Present => "[green]present[/]",
        DeviceStatus.Emulated => "[yellow]emulated[/]",
        _ => "[grey]absent[/]",
    };
}
