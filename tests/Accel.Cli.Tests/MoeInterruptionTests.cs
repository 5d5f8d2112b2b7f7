using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Accel.Cli.Commands;

namespace Accel.Cli.Tests;

/// <summary>
/// An interrupted <c>accel moe</c> (a cancelled token in process, or SIGINT/SIGTERM to a child
/// process) exits with <see cref="CliErrors.Interrupted"/>, leaves an existing output file byte for
/// byte as it was and leaves no temporary file in the output folder.
/// </summary>
[NonParallelizable]
public sealed class MoeInterruptionTests
{
    private static readonly byte[] OldOutput = "the output of an earlier run"u8.ToArray();
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("accel-cli-int-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    private string[] MoeArgs(int layer) =>
    [
        "moe", "--config", P("config.json"), "--weights", P("model.safetensors"), "--input", P("input.safetensors"),
        "--output", P("out.safetensors"), "--layer", $"{layer}", "--device", "reference", "--explain",
    ];

    private void Example(string preset, int layer, int tokens)
    {
        var result = CliRunner.Capture(() => Program.Main(
            ["example", "--preset", preset, "--format", "Fp8", "--layer", $"{layer}", "--tokens", $"{tokens}", "--dir", _dir]));
        Assert.That(result.ExitCode, Is.Zero, result.Error);
        File.WriteAllBytes(P("out.safetensors"), OldOutput);
    }

    /// <summary>The output folder holds the inputs and the untouched old output, nothing else.</summary>
    private void AssertOldOutputKept()
    {
        Assert.That(File.ReadAllBytes(P("out.safetensors")), Is.EqualTo(OldOutput), "the old output was changed");
        Assert.That(Directory.GetFiles(_dir).Select(Path.GetFileName),
            Is.EquivalentTo(new[] { "config.json", "model.safetensors", "input.safetensors", "out.safetensors" }),
            "a temporary or partial file was left behind");
    }

    /// <summary>Where the in-process run is cancelled: before it starts, or once --explain has printed (the layer is built).</summary>
    [TestCase(null)]
    [TestCase("strict ")]
    public async Task A_cancelled_run_writes_nothing(string? cancelAfterLine)
    {
        Example("deepseek-v4-tiny", 3, tokens: 6);
        using var cancel = new CancellationTokenSource();
        if (cancelAfterLine is null)
        {
            cancel.Cancel();
        }

        var (oldOut, oldError) = (Console.Out, Console.Error);
        using var output = new CancellingWriter(cancelAfterLine, cancel);
        using var error = new StringWriter();
        Console.SetOut(output);
        Console.SetError(error);
        int code;
        try
        {
            var root = new RootCommand { MoeCommand.Create(new CliContext(new FakeEnvironment(), _dir)) };
            code = await root.Parse(MoeArgs(3)).InvokeAsync(cancellationToken: cancel.Token);
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }

        Assert.That(code, Is.EqualTo(CliErrors.Interrupted), error.ToString());
        Assert.That(error.ToString(), Does.StartWith("error: interrupted").And.Not.Contain("   at "));
        Assert.That(output.ToString(), Does.Not.Contain("tokens -> out.safetensors"));
        AssertOldOutputKept();
    }

    [TestCase(Signal.Interrupt)]
    [TestCase(Signal.Terminate)]
    [Category("slow")]
    public void A_signal_during_the_run_stops_it_without_writing(Signal signal)
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("POSIX signals are sent with kill(2), which Windows does not have.");
        }

        // Enough tokens that the reference backend computes for a few tenths of a second after
        // --explain has printed (so the signal lands inside the run), and few enough that it finishes
        // within Program.InterruptGrace, so the command itself stops, reports and exits with 130.
        // Without the signal handlers a signal would end the process at once, with no message.
        Example("deepseek-v4-mini", 3, tokens: 2048);
        using var child = StartAccel(MoeArgs(3));
        string? line;
        var printed = new List<string>();
        while ((line = child.StandardOutput.ReadLine()) is not null && !line.StartsWith("strict ", StringComparison.Ordinal))
        {
            printed.Add(line);
        }

        // The message is built only on failure: reading standard error waits for the child to exit.
        Assert.That(line, Is.Not.Null, () => $"the run ended before --explain printed: {string.Join("\n", printed)}\n{child.StandardError.ReadToEnd()}");
        if (IsIgnored(child.Id, signal))
        {
            child.Kill();
            Assert.Ignore($"{signal} is ignored in this process tree (inherited from a parent), so it cannot reach the child here.");
        }

        Assert.That(Kill(child.Id, (int)signal), Is.Zero, $"kill(2) failed with errno {Marshal.GetLastPInvokeError()}");
        string rest = child.StandardOutput.ReadToEnd();
        string errors = child.StandardError.ReadToEnd();
        Assert.That(child.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "the run did not stop after the signal");
        Assert.That(child.ExitCode, Is.EqualTo(CliErrors.Interrupted), $"stdout: {rest}\nstderr: {errors}");
        Assert.That(errors, Does.StartWith("error: interrupted").And.Not.Contain("   at "));
        Assert.That(rest, Does.Not.Contain("tokens -> out.safetensors"));
        AssertOldOutputKept();
    }

    /// <summary>Signal numbers (the same on Linux and macOS).</summary>
    public enum Signal
    {
        /// <summary>SIGINT, what Ctrl-C sends.</summary>
        Interrupt = 2,
        /// <summary>SIGTERM, what a service manager or kill sends.</summary>
        Terminate = 15,
    }

    /// <summary>True when the process ignores <paramref name="signal"/> (read from /proc where there is one).</summary>
    private static bool IsIgnored(int pid, Signal signal)
    {
        string status = $"/proc/{pid}/status";
        string? mask = File.Exists(status)
            ? File.ReadLines(status).FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal))?["SigIgn:".Length..].Trim()
            : null;
        return mask is not null && (Convert.ToUInt64(mask, 16) & (1UL << ((int)signal - 1))) != 0;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Starts the built <c>accel</c> (next to the tests) with the dotnet host running the tests.</summary>
    private static Process StartAccel(string[] args)
    {
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "accel.dll"));
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Remove("ACCEL_DEVICE");
        start.Environment.Remove("ACCEL_STRICT");
        return Process.Start(start) ?? throw new InvalidOperationException("the accel process did not start");
    }

    /// <summary>Captures output and cancels the token once a line starting with a trigger is written.</summary>
    private sealed class CancellingWriter(string? trigger, CancellationTokenSource cancel) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (trigger is not null && value?.StartsWith(trigger, StringComparison.Ordinal) == true)
            {
                cancel.Cancel();
            }
        }
    }
}
