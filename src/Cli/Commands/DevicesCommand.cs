using System.CommandLine;
using Accel.Backends;
using Spectre.Console;

namespace Accel.Cli.Commands;

/// <summary><c>accel devices</c>: every backend and device with its status and why.</summary>
public static class DevicesCommand
{
    /// <summary>Creates the verb.</summary>
    public static Command Create()
    {
        var command = new Command("devices", "List every backend and device, present, emulated or absent, and why.");
        command.SetAction(_ => CliErrors.Guard(() =>
        {
            var registry = new BackendRegistry(Providers.All());
            var table = new Table().AddColumns("device", "backend", "status", "name", "memory", "note");
            foreach (var d in registry.Devices)
            {
                string status = d.Status switch
                {
                    DeviceStatus.Present => "[green]present[/]",
                    DeviceStatus.Emulated => "[yellow]emulated[/]",
                    _ => "[grey]absent[/]",
                };
                table.AddRow(Markup.Escape(d.Id), Markup.Escape(d.Backend), status, Markup.Escape(d.Name),
                    d.MemoryBytes is long m ? BackendBase.Format(m) : "-", Markup.Escape(d.Note));
            }

            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }
}
