using Accel.Backends;
using Accel.Cli.Bench;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Accel.Errors;
using Accel.Graph;
using Accel.Moe;
using Accel.Types;
using Spectre.Console;

namespace Accel.Cli.Tests;

/// <summary>Where <c>accel bench</c> takes its roofline from: the flags, the device's profile, or the machine probe.</summary>
public sealed class BenchRooflineTests
{
    private static readonly string[] SmallLayer =
        ["--hidden", "64", "--expert-width", "32", "--experts", "8", "--top-k", "2", "--shared-experts", "1", "--groups", "4",
         "--top-k-groups", "2", "--tokens", "0", "--runs", "1", "--warmup", "0", "--hot", "--threads", "2"];

    private static BenchOptions Small(string device, double? peak = null, double? bandwidth = null) =>
        new(device, 64, 32, 8, 2, 1, 4, 2, [1], SyntheticFormat.F32, 2, Cold: false, Runs: 1, Warmup: 0,
            PeakGflops: peak, BandwidthGbps: bandwidth, Probe: ProbeSettings.Quick);

    [TestCase(100.0, 10.0)]
    [TestCase(0.5, 1234.5)]
    public void Given_figures_are_used_and_nothing_is_measured(double peak, double bandwidth)
    {
        var lines = new List<string>();
        var run = BenchEngine.Run(Small("cpu", peak, bandwidth), lines.Add);
        Assert.That(run.Roofline.PeakGflops, Is.EqualTo(peak));
        Assert.That(run.Roofline.BandwidthGbps, Is.EqualTo(bandwidth));
        Assert.That(run.Roofline.Peak.Source, Is.EqualTo("given with --peak-gflops"));
        Assert.That(run.Roofline.Bandwidth.Source, Is.EqualTo("given with --bandwidth-gbps"));
        Assert.That(run.Roofline.Note, Is.Null);
        Assert.That(lines, Has.None.Contains("probing"));
        var r = run.Results.Single();
        double expected = Math.Max(r.Flops / (peak * 1e9), r.WeightBytes / (bandwidth * 1e9)) * 1e3;
        Assert.That(r.PredictedMs, Is.EqualTo(expected).Within(1e-9).Percent);
        Assert.That(r.RooflinePct, Is.EqualTo(100 * expected / r.MedianMs).Within(1e-9).Percent);
    }

    [Test]
    public void The_command_prints_the_given_roofline_and_its_source()
    {
        var r = Bench(["--device", "cpu", .. SmallLayer, "--peak-gflops", "123", "--bandwidth-gbps", "4.5"]);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error + r.Out);
        Assert.That(r.Out, Does.Contain("roofline: 123 GFLOP/s (given with --peak-gflops), 4.5 GB/s (given with --bandwidth-gbps)"));
        Assert.That(r.Out, Does.Not.Contain("probing"));
    }

    [TestCase("hygon-k100-ai", 49_000.0, 896.0)]
    [TestCase("hygon-bw200", 60_000.0, 1_600.0)]
    [TestCase("cambricon-mlu370-x8", 16_000.0, 307.2)]
    public void A_shim_device_takes_its_profile_roofline_and_says_it_is_emulated(string device, double peak, double bandwidth)
    {
        var roofline = Resolve(Small(device));
        Assert.That(roofline.PeakGflops, Is.EqualTo(peak).Within(1e-9).Percent);
        Assert.That(roofline.BandwidthGbps, Is.EqualTo(bandwidth).Within(1e-9).Percent);
        Assert.That(roofline.Peak.Source, Does.StartWith($"hardware profile {device}, fp32 peak"));
        Assert.That(roofline.Bandwidth.Source, Does.StartWith($"hardware profile {device}, memory bandwidth"));
        Assert.That(roofline.Note, Does.Contain($"{device} is emulated"));
    }

    [Test]
    public void The_command_prints_a_shim_profile_roofline()
    {
        var r = Bench(["--device", "hygon-k100-ai", .. SmallLayer]);
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Error + r.Out);
        Assert.That(r.Out, Does.Contain("roofline: 49000 GFLOP/s (hardware profile hygon-k100-ai, fp32 peak 49 TFLOP/s"));
        Assert.That(r.Out, Does.Contain("hygon-k100-ai is emulated on this machine"));
        Assert.That(r.Out, Does.Not.Contain("probing"));
    }

    [Test]
    public void A_given_figure_wins_over_the_profile_and_fills_what_the_profile_lacks()
    {
        Assert.That(() => Resolve(Small("ascend-910b")), Throws.InstanceOf<AccelException>()
            .With.Message.Contains("'ascend-910b' gives no fp32 peak").And.Message.Contains("Pass --peak-gflops"));
        var roofline = Resolve(Small("ascend-910b", peak: 250_000));
        Assert.That(roofline.PeakGflops, Is.EqualTo(250_000));
        Assert.That(roofline.Peak.Source, Is.EqualTo("given with --peak-gflops"));
        Assert.That(roofline.BandwidthGbps, Is.EqualTo(1380).Within(1e-9).Percent);
        Assert.That(roofline.Bandwidth.Source, Does.StartWith("hardware profile ascend-910b, memory bandwidth"));
    }

    [TestCase("--peak-gflops", "0")]
    [TestCase("--peak-gflops", "-300")]
    [TestCase("--peak-gflops", "NaN")]
    [TestCase("--bandwidth-gbps", "0")]
    [TestCase("--bandwidth-gbps", "-22")]
    [TestCase("--bandwidth-gbps", "NaN")]
    [TestCase("--bandwidth-gbps", "Infinity")]
    public void An_invalid_figure_is_a_clear_error(string flag, string value)
    {
        var r = Bench(["--device", "cpu", .. SmallLayer, flag, value]);
        Assert.That(r.ExitCode, Is.EqualTo(CliErrors.UserError), r.Out);
        Assert.That(r.Error, Does.StartWith($"error: {flag} {value} is not a roofline figure").And.Contain("finite number above 0"));
        Assert.That(r.Error, Does.Not.Contain(" at Accel."), "no stack trace");
        Assert.That(r.Out, Does.Not.Contain("tokens/s"), "nothing was measured");
    }

    [TestCase(0.0, 10.0)]
    [TestCase(double.NegativeInfinity, 10.0)]
    [TestCase(100.0, double.NaN)]
    [TestCase(100.0, -1.0)]
    public void Invalid_figures_are_refused_before_anything_runs(double peak, double bandwidth) =>
        Assert.That(() => BenchEngine.Run(Small("cpu", peak, bandwidth)), Throws.InstanceOf<InvalidInputException>()
            .With.Message.Contains("is not a roofline figure"));

    [TestCase(1)]
    [TestCase(2)]
    public void The_probe_returns_finite_positive_figures(int threads)
    {
        var m = MachineProbe.Measure(threads, ProbeSettings.Quick);
        Assert.That(m.Threads, Is.EqualTo(threads));
        Assert.That(double.IsFinite(m.PeakGflops) && m.PeakGflops > 0, Is.True, $"{m.PeakGflops} GFLOP/s");
        Assert.That(double.IsFinite(m.BandwidthGbps) && m.BandwidthGbps > 0, Is.True, $"{m.BandwidthGbps} GB/s");
    }

    [TestCase(0, 1, 1)]
    [TestCase(1, 0, 1)]
    [TestCase(1, 1, 0)]
    public void The_probe_refuses_an_empty_window(int threads, long fmaIterations, int tries) =>
        Assert.That(() => MachineProbe.Measure(threads, ProbeSettings.Quick with { FmaIterations = fmaIterations, FmaTries = tries }),
            Throws.InstanceOf<ArgumentOutOfRangeException>());

    [TestCase("cpu", 2)]
    [TestCase("reference", 1)]
    public void Without_figures_a_host_device_is_measured_with_its_threads(string device, int threads)
    {
        var lines = new List<string>();
        var run = BenchEngine.Run(Small(device), lines.Add);
        Assert.That(lines, Has.One.StartsWith($"probing this machine with {threads} thread(s)"));
        Assert.That(run.Roofline.Peak.Source, Does.StartWith($"measured at start: fp32 FMA rate, {threads} thread(s)"));
        Assert.That(run.Roofline.Bandwidth.Source, Does.StartWith($"measured at start: read bandwidth, {threads} thread(s)"));
        Assert.That(double.IsFinite(run.Roofline.PeakGflops) && run.Roofline.PeakGflops > 0, Is.True);
        Assert.That(double.IsFinite(run.Roofline.BandwidthGbps) && run.Roofline.BandwidthGbps > 0, Is.True);
        Assert.That(run.Results.Single().PredictedMs, Is.GreaterThan(0));
    }

    [TestCase("reference", 8, 1)]
    [TestCase("cpu", 3, 3)]
    [TestCase("cpu", 1, 1)]
    public void The_probe_uses_the_backend_thread_count(string device, int threads, int expected)
    {
        using var backend = Open(device, threads);
        Assert.That(RooflineResolver.ProbeThreads(backend), Is.EqualTo(expected));
    }

    [Test]
    public void The_cpu_backend_default_threads_are_every_processor()
    {
        using var backend = Open("cpu", 0);
        Assert.That(RooflineResolver.ProbeThreads(backend), Is.EqualTo(Environment.ProcessorCount));
    }

    [Test]
    public void The_probe_takes_the_cpu_thread_count_from_configuration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Accel:Backends:Cpu:Threads"] = "1" }).Build();
        using var services = Accel.Composition.AccelComposition.Create(configuration);
        using var backend = services.Registry.Open("cpu");
        Assert.That(RooflineResolver.ProbeThreads(backend), Is.EqualTo(1));
    }

    /// <summary>Opens <paramref name="device"/> with the cpu backend's thread count set as --threads sets it (0: its default).</summary>
    private static IBackend Open(string device, int threads)
    {
        using var services = Accel.Composition.AccelComposition.Create(configure: a =>
        {
            if (threads > 0)
            {
                a.AddCpu(o => o with { Threads = threads });
            }
        });
        return services.Registry.Open(device);
    }

    [Test]
    public void A_gpu_matching_a_profile_takes_its_roofline()
    {
        using var gpu = new DescribedBackend(new DeviceDescriptor("cuda:0", "cuda", "NVIDIA H200", DeviceKind.Gpu, null, DeviceStatus.Present));
        var roofline = RooflineResolver.Resolve(Small("cuda:0"), gpu);
        Assert.That(roofline.PeakGflops, Is.EqualTo(67_000).Within(1e-9).Percent);
        Assert.That(roofline.BandwidthGbps, Is.EqualTo(4_800).Within(1e-9).Percent);
        Assert.That(roofline.Peak.Source, Does.StartWith("hardware profile nvidia-h200, fp32 peak"));
        Assert.That(roofline.Note, Is.Null, "a real GPU is not emulated");
    }

    [Test]
    public void A_gpu_without_a_profile_or_figures_is_a_clear_error()
    {
        using var gpu = new DescribedBackend(new DeviceDescriptor("cuda:1", "cuda", "Some Other GPU", DeviceKind.Gpu, null, DeviceStatus.Present));
        Assert.That(() => RooflineResolver.Resolve(Small("cuda:1"), gpu), Throws.InstanceOf<AccelException>()
            .With.Message.Contains("cannot measure the roofline of 'cuda:1'")
            .And.Message.Contains("--peak-gflops").And.Message.Contains("--bandwidth-gbps"));
        var given = RooflineResolver.Resolve(Small("cuda:1", 1000, 500), gpu);
        Assert.That((given.PeakGflops, given.BandwidthGbps), Is.EqualTo((1000.0, 500.0)));
    }

    /// <summary>Opens <paramref name="o"/>'s device the way the command does and resolves its roofline.</summary>
    private static BenchRoofline Resolve(BenchOptions o)
    {
        using var services = Accel.Composition.AccelComposition.Create();
        using var device = services.Registry.Open(o.Device);
        return RooflineResolver.Resolve(o, device);
    }

    /// <summary>Runs <c>accel bench</c> with Spectre's console bound to the captured output, wide enough not to wrap the roofline line.</summary>
    private static CliResult Bench(string[] args)
    {
        using var cli = new CliRunner();
        return CliRunner.Capture(() =>
        {
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
            AnsiConsole.Profile.Width = 400;
            return Program.Run(["bench", .. args], new CliContext(new FakeEnvironment(), cli.WorkingDirectory));
        });
    }

    /// <summary>A backend that only describes a device (for roofline choices); it runs nothing.</summary>
    private sealed class DescribedBackend(DeviceDescriptor device) : BackendBase(device, null)
    {
        public override OpTable Ops { get; } = OpTable.For("described");

        protected override IDeviceBuffer AllocateCore(TensorDesc desc) => throw new NotSupportedException();

        protected override void UploadCore(IDeviceBuffer destination, ReadOnlySpan<byte> source) => throw new NotSupportedException();

        protected override void DownloadCore(IDeviceBuffer source, Span<byte> destination) => throw new NotSupportedException();

        protected override void ExecuteCore(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs) =>
            throw new NotSupportedException();
    }
}
