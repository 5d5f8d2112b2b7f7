using Accel.Backends.Cpu;
using Accel.Composition;
using Accel.Errors;
using Accel.Selection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Accel.Cpu.Tests;

/// <summary>
/// How the cpu backend's options are put together at the composition root: defaults, then
/// <c>Accel:Backends:Cpu</c>, then the <c>ACCEL_CPU_*</c> variables, then code.
/// </summary>
public sealed class OptionsTests
{
    private sealed class Env(Dictionary<string, string?> values) : IAccelEnvironment
    {
        public string? GetVariable(string name) => values.GetValueOrDefault(name);
    }

    private static Env Environment(string? amx, string? rows, string? fp32, string? prefetch) => new(new()
    {
        ["ACCEL_CPU_AMX"] = amx, ["ACCEL_CPU_AMX_ROWS"] = rows, ["ACCEL_CPU_AMX_FP32"] = fp32, ["ACCEL_CPU_PANEL_PREFETCH"] = prefetch,
    });

    [TestCase(null, null, null, null, true, 64, false, 2048)]
    [TestCase("0", null, null, "0", false, 64, false, 0)]
    [TestCase("1", "16", "1", "4096", true, 16, true, 4096)]
    [TestCase("false", " 8 ", "true", null, false, 8, true, 2048)]
    public void Environment_variables_reach_the_backend(string? amx, string? rows, string? fp32, string? prefetch,
        bool expectAmx, int expectRows, bool expectFp32, int expectPrefetch)
    {
        using var services = AccelComposition.Create(environment: Environment(amx, rows, fp32, prefetch),
            configure: a => a.AddCpu(o => o with { Threads = 1 }));
        using var backend = (CpuBackend)services.Registry.Open("cpu");
        var o = backend.Options;
        Assert.That((o.Amx, o.AmxMinRows, o.AmxFp32, o.PanelPrefetchBytes, o.Threads),
            Is.EqualTo((expectAmx, expectRows, expectFp32, expectPrefetch, 1)));
        Assert.That(backend.KernelFamily == "avx512+amx",
            Is.EqualTo(expectAmx && CpuProvider.HasAvx512 && Accel.Backends.Cpu.Amx.AmxRuntime.IsAvailable));
    }

    [TestCase("ACCEL_CPU_AMX", "maybe", "set it to 1 (or true), 0 (or false)")]
    [TestCase("ACCEL_CPU_AMX_ROWS", "0", "whole number of at least 1")]
    [TestCase("ACCEL_CPU_AMX_ROWS", "many", "whole number of at least 1")]
    [TestCase("ACCEL_CPU_PANEL_PREFETCH", "-5", "whole number of at least 0")]
    [TestCase("ACCEL_CPU_STREAM_ROWS", "far", "whole number of at least 0")]
    [TestCase("ACCEL_CPU_PREFETCH_BLOCKS", "1.5", "whole number of at least 0")]
    [TestCase("ACCEL_CPU_VNNI", "on", "set it to 1 (or true), 0 (or false)")]
    [TestCase("ACCEL_CPU_BF16", "yes", "set it to 1 (or true), 0 (or false)")]
    [TestCase("ACCEL_CPU_VNNI512", "wide", "set it to 1 (or true), 0 (or false)")]
    [TestCase("ACCEL_CPU_FP4_PANEL_ROWS", "-1", "whole number of at least 0")]
    [TestCase("ACCEL_CPU_FP4_PANEL_ROWS", "eight", "whole number of at least 0")]
    [TestCase("ACCEL_CPU_NAP_MS", "-3", "whole number of at least 0")]
    [TestCase("ACCEL_CPU_NAP_MS", "0.5", "whole number of at least 0")]
    [TestCase("ACCEL_CPU_FP4_ACTIVATION_BITS", "12", "22, 16 or 8")]
    [TestCase("ACCEL_CPU_FP4_ACTIVATION_BITS", "0", "whole number of at least 1")]
    [TestCase("ACCEL_CPU_FP4_ACTIVATION_BITS", "half", "whole number of at least 1")]
    [TestCase("ACCEL_CPU_FP4_QUADS", "interleaved", "set it to 1 (or true), 0 (or false)")]
    public void A_malformed_variable_is_an_error_that_names_it(string variable, string value, string expected)
    {
        var env = new Env(new() { [variable] = value });
        var e = Assert.Throws<ConfigException>(() => new CpuBackendOptions().WithEnvironment(env))!;
        Assert.That(e.Message, Does.Contain(variable).And.Contain($"'{value}'").And.Contain(expected));
    }

    [TestCase(null, null, null, true, false, true)]
    [TestCase("0", "1", null, false, true, true)]
    [TestCase("true", "false", "0", true, false, false)]
    public void The_decode_kernel_variables_reach_the_backend(string? vnni, string? bf16, string? vnni512,
        bool expectVnni, bool expectBf16, bool expectVnni512)
    {
        var env = new Env(new() { ["ACCEL_CPU_VNNI"] = vnni, ["ACCEL_CPU_BF16"] = bf16, ["ACCEL_CPU_VNNI512"] = vnni512 });
        using var services = AccelComposition.Create(environment: env, configure: a => a.AddCpu(o => o with { Threads = 1 }));
        using var backend = (CpuBackend)services.Registry.Open("cpu");
        var o = backend.Options;
        Assert.That((o.Vnni, o.Bf16Dot, o.Vnni512), Is.EqualTo((expectVnni, expectBf16, expectVnni512)));
        Assert.That(backend.Device.Note, Does.Contain(!o.UsesAvx512 ? "portable"
            : o.UsesVnni512 ? "FP4 decode on avx512-vnni" : o.UsesVnni ? "FP4 decode on avx-vnni" : "FP4 decode on fp32 FMA"));
    }

    [TestCase(1, true, "pool: 1 thread (the caller)")]
    [TestCase(2, false, "pool: 2 threads, workers placed by the kernel (AvoidCaller off)")]
    [TestCase(2, true, null)]
    public void The_device_note_says_where_the_workers_run(int threads, bool avoidCaller, string? expected)
    {
        var note = CpuProvider.Describe(new CpuBackendOptions(threads) with { AvoidCaller = avoidCaller }).Note;
        int allowed = CallerPlacement.AffinityOf(0)?.Count ?? 0;
        expected ??= allowed > 1 ? "pool: 2 threads, workers kept off the caller's processor"
            : "pool: 2 threads, workers placed by the kernel (no affinity calls here, or no more processors than workers)";
        Assert.That(note, Does.EndWith(expected));
    }

    [TestCase(null, null, true)]
    [TestCase("0", null, false)]
    [TestCase("1", "0", false)]
    [TestCase("true", "8", true)]
    public void The_quad_layout_variable_reaches_the_backend_and_needs_the_panel_expansion(string? quads, string? panelRows, bool expected)
    {
        var env = new Env(new() { ["ACCEL_CPU_FP4_QUADS"] = quads, ["ACCEL_CPU_FP4_PANEL_ROWS"] = panelRows });
        var o = new CpuBackendOptions().WithEnvironment(env);
        Assert.That(o.Fp4Quads, Is.EqualTo(quads is null or "1" or "true"));
        Assert.That(o.UsesFp4Quads, Is.EqualTo(expected && o.UsesVnni512));
    }

    [TestCase("ACCEL_CPU_SPLIT_PANELS", null, true)]
    [TestCase("ACCEL_CPU_SPLIT_PANELS", "0", false)]
    [TestCase("ACCEL_CPU_SPLIT_PANELS", "1", true)]
    [TestCase("ACCEL_CPU_SPLIT_PANELS", "false", false)]
    [TestCase("ACCEL_CPU_FP4_TWO_GROUPS", null, true)]
    [TestCase("ACCEL_CPU_FP4_TWO_GROUPS", "0", false)]
    [TestCase("ACCEL_CPU_FP4_TWO_GROUPS", "true", true)]
    [TestCase("ACCEL_CPU_AVOID_CALLER", null, true)]
    [TestCase("ACCEL_CPU_AVOID_CALLER", "0", false)]
    [TestCase("ACCEL_CPU_AVOID_CALLER", "1", true)]
    public void The_switch_variables_reach_the_options(string variable, string? value, bool expected)
    {
        var o = new CpuBackendOptions().WithEnvironment(new Env(new() { [variable] = value }));
        bool actual = variable switch
        {
            "ACCEL_CPU_SPLIT_PANELS" => o.SplitPanels,
            "ACCEL_CPU_FP4_TWO_GROUPS" => o.Fp4TwoGroups,
            _ => o.AvoidCaller,
        };
        Assert.That(actual, Is.EqualTo(expected));
    }

    [TestCase("ACCEL_CPU_FP4_PANEL_ROWS", null, 8)]
    [TestCase("ACCEL_CPU_FP4_PANEL_ROWS", "0", 0)]
    [TestCase("ACCEL_CPU_FP4_PANEL_ROWS", "24", 24)]
    [TestCase("ACCEL_CPU_NAP_MS", null, 20)]
    [TestCase("ACCEL_CPU_NAP_MS", "0", 0)]
    [TestCase("ACCEL_CPU_NAP_MS", "250", 250)]
    [TestCase("ACCEL_CPU_FP4_ACTIVATION_BITS", null, 22)]
    [TestCase("ACCEL_CPU_FP4_ACTIVATION_BITS", "16", 16)]
    [TestCase("ACCEL_CPU_FP4_ACTIVATION_BITS", "8", 8)]
    public void A_count_variable_reaches_the_options(string variable, string? value, int expected)
    {
        var o = new CpuBackendOptions().WithEnvironment(new Env(new() { [variable] = value }));
        Assert.That(variable switch
        {
            "ACCEL_CPU_NAP_MS" => o.IdleNapMilliseconds,
            "ACCEL_CPU_FP4_ACTIVATION_BITS" => o.Fp4ActivationBits,
            _ => o.Fp4PanelRows,
        }, Is.EqualTo(expected));
    }

    /// <summary>Activation bits set in code or configuration to a value the kernels cannot keep stop the backend with the allowed values.</summary>
    [TestCase(12)]
    [TestCase(32)]
    public void Activation_bits_the_kernels_cannot_keep_are_refused_when_the_backend_opens(int bits)
    {
        var e = Assert.Throws<ConfigException>(() => new CpuBackend(new CpuBackendOptions(Threads: 1, Fp4ActivationBits: bits)))!;
        Assert.That(e.Message, Does.Contain("Fp4ActivationBits").And.Contain($"is '{bits}'").And.Contain("22, 16 or 8"));
    }

    [TestCase(22)]
    [TestCase(16)]
    [TestCase(8)]
    public void The_device_note_says_how_many_activation_bits_fp4_decode_keeps(int bits)
    {
        using var backend = new CpuBackend(new CpuBackendOptions(Threads: 1, Fp4ActivationBits: bits));
        Assume.That(backend.Options.UsesVnni, "FP4 decode runs on fp32 FMA here, which keeps every bit");
        Assert.That(backend.Device.Note, Does.Contain($"({bits}-bit activations)"));
    }

    [Test]
    public void Code_beats_the_environment_which_beats_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Accel:Backends:Cpu:AmxMinRows"] = "32",
            ["Accel:Backends:Cpu:PanelPrefetchBytes"] = "1024",
            ["Accel:Backends:Cpu:StreamRowsAbove"] = "12",
            ["Accel:Backends:Cpu:Threads"] = "3",
        }).Build();
        var env = new Env(new() { ["ACCEL_CPU_AMX_ROWS"] = "16", ["ACCEL_CPU_PANEL_PREFETCH"] = "512" });
        using var services = AccelComposition.Create(configuration, env, configure: a => a.AddCpu(o => o with { AmxMinRows = 8 }));
        var o = services.Get<CpuBackendOptions>();
        Assert.That((o.AmxMinRows, o.PanelPrefetchBytes, o.StreamRowsAbove, o.Threads, o.PrefetchBlocks),
            Is.EqualTo((8, 512, 12, 3, 2)), "code 8 > env 16 > config 32; env 512 > config 1024; config 12 and 3; default 2");
    }

    [TestCase("Accel:Backends:Cpu:Threads", "lots", "Accel:Backends:Cpu")]
    [TestCase("Accel:Backends:Cpu:AmxMinRow", "16", "AmxMinRow")]
    public void A_bad_configuration_value_or_key_fails_at_start_with_an_error_that_names_the_section(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var e = Assert.Throws<ConfigException>(() => AccelComposition.Create(configuration, new Env([])))!;
        Assert.That(e.Message, Does.Contain(expected).And.Contain("AmxMinRows"), "the message lists the keys");
    }

    [Test]
    public void A_backend_constructed_directly_runs_exactly_its_options()
    {
        using var backend = new CpuBackend(new CpuBackendOptions(Threads: 1, Amx: false, AmxMinRows: 7, AmxFp32: true, PanelPrefetchBytes: 512));
        var o = backend.Options;
        Assert.That((o.Amx, o.AmxMinRows, o.AmxFp32, o.PanelPrefetchBytes), Is.EqualTo((false, 7, true, 512)));
    }
}
