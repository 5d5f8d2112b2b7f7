using Accel.Backends.Cpu;

namespace Accel.Cpu.Tests;

/// <summary>The environment overrides of <see cref="CpuBackendOptions"/>, as a backend applies them.</summary>
[NonParallelizable]
public sealed class OptionsTests
{
    private static readonly string[] Variables = ["ACCEL_CPU_AMX", "ACCEL_CPU_AMX_ROWS", "ACCEL_CPU_AMX_FP32", "ACCEL_CPU_PANEL_PREFETCH"];

    [TestCase(null, null, null, null, true, 64, false, 2048)]
    [TestCase("0", null, null, "0", false, 64, false, 0)]
    [TestCase("1", "16", "1", "4096", true, 16, true, 4096)]
    [TestCase(null, "0", null, "-5", true, 64, false, 2048)]
    [TestCase(null, "many", "0", "far", true, 64, false, 2048)]
    public void Environment_overrides_reach_the_backend(string? amx, string? rows, string? fp32, string? prefetch,
        bool expectAmx, int expectRows, bool expectFp32, int expectPrefetch)
    {
        var saved = Variables.Select(Environment.GetEnvironmentVariable).ToArray();
        try
        {
            Environment.SetEnvironmentVariable(Variables[0], amx);
            Environment.SetEnvironmentVariable(Variables[1], rows);
            Environment.SetEnvironmentVariable(Variables[2], fp32);
            Environment.SetEnvironmentVariable(Variables[3], prefetch);
            using var backend = new CpuBackend(new CpuBackendOptions(Threads: 1));
            Assert.That(backend.Options.Amx, Is.EqualTo(expectAmx));
            Assert.That(backend.Options.AmxMinRows, Is.EqualTo(expectRows));
            Assert.That(backend.Options.AmxFp32, Is.EqualTo(expectFp32));
            Assert.That(backend.Options.PanelPrefetchBytes, Is.EqualTo(expectPrefetch));
            Assert.That(backend.KernelFamily == "avx512+amx",
                Is.EqualTo(expectAmx && CpuProvider.HasAvx512 && Accel.Backends.Cpu.Amx.AmxRuntime.IsAvailable));
        }
        finally
        {
            for (int i = 0; i < Variables.Length; i++) { Environment.SetEnvironmentVariable(Variables[i], saved[i]); }
        }
    }

    [Test]
    public void Options_given_in_code_are_kept_without_overrides()
    {
        var saved = Variables.Select(Environment.GetEnvironmentVariable).ToArray();
        try
        {
            foreach (string v in Variables) { Environment.SetEnvironmentVariable(v, null); }
            var o = new CpuBackendOptions(Amx: false, AmxMinRows: 7, AmxFp32: true, PanelPrefetchBytes: 512).WithEnvironment();
            Assert.That((o.Amx, o.AmxMinRows, o.AmxFp32, o.PanelPrefetchBytes), Is.EqualTo((false, 7, true, 512)));
        }
        finally
        {
            for (int i = 0; i < Variables.Length; i++) { Environment.SetEnvironmentVariable(Variables[i], saved[i]); }
        }
    }
}
