using Accel.Backends.Cpu;
using Accel.Backends.Reference;
using Accel.Execution;
using Accel.IO;
using Accel.Moe;

namespace Accel.Cpu.Tests;

/// <summary>Whole MoE layers of every family and storage format: CPU backend alone (strict) against the reference.</summary>
public sealed class LayerTests
{
    private static IEnumerable<TestCaseData> Cases()
    {
        string[] presets = ["deepseek-v3-tiny", "deepseek-v4-tiny", "mixtral-tiny", "qwen2-moe-tiny", "deepseek-v4-mini"];
        foreach (string preset in presets)
        {
            foreach (var format in Enum.GetValues<SyntheticFormat>())
            {
                foreach (int t in new[] { 0, 1, 7 })
                {
                    int layer = preset switch
                    {
                        "deepseek-v4-tiny" => t == 1 ? 0 : 3,
                        "deepseek-v4-mini" => t == 7 ? 1 : 5,
                        _ => 1,
                    };
                    yield return new TestCaseData(preset, layer, format, t, CpuSimd.Auto).SetName($"Layer_{preset}_L{layer}_{format}_T{t}");
                }
            }
        }

        foreach (var format in Enum.GetValues<SyntheticFormat>())
        {
            yield return new TestCaseData("deepseek-v3-tiny", 1, format, 9, CpuSimd.Portable).SetName($"Layer_portable_{format}_T9");

            // Every fp32/bf16 segment on AMX tiles where the processor allows it.
            yield return new TestCaseData("deepseek-v3-tiny", 1, format, 37, CpuSimd.Auto, 1).SetName($"Layer_amx_{format}_T37");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Layer_matches_the_reference(string preset, int layer, SyntheticFormat format, int tokens, CpuSimd simd,
        int amxMinRows = 64)
    {
        var config = MoePresets.All[preset];
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(config, layer, format)), config, layer);
        using var cpu = new CpuBackend(new CpuBackendOptions(Threads: 2, Simd: simd, AmxMinRows: amxMinRows, AmxFp32: true));
        using var reference = new ReferenceBackend();
        using var onCpu = new MoeLayer(config, layer, weights, [cpu], new SessionOptions(Strict: true));
        using var onRef = new MoeLayer(config, layer, weights, [reference]);
        var x = SyntheticCheckpoint.Activations(tokens, config.Hidden);
        var ids = onCpu.NeedsTokenIds ? SyntheticCheckpoint.TokenIds(tokens, config.Vocab) : null;
        var a = onCpu.Run(x, ids);
        var e = onRef.Run(x, ids);
        Assert.That(a.TopkIds.ToI32(), Is.EqualTo(e.TopkIds.ToI32()), "topk ids");
        Assert.That(Harness.RelativeError(a.TopkWeights.AsSpan<float>(), e.TopkWeights.AsSpan<float>()), Is.LessThan(Harness.Tolerance));
        Assert.That(Harness.RelativeError(a.Output.AsSpan<float>(), e.Output.AsSpan<float>()), Is.LessThan(Harness.Tolerance));
    }

    [TestCase(1)]
    [TestCase(3)]
    public void A_larger_layer_matches_on_any_thread_count(int threads)
    {
        var config = MoePresets.DeepSeekV3Tiny with { Hidden = 256, ExpertWidth = 96, SharedWidth = 192, Experts = 16 };
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(config, 2, SyntheticFormat.F32)), config, 2);
        using var cpu = new CpuBackend(new CpuBackendOptions(Threads: threads));
        using var reference = new ReferenceBackend();
        using var onCpu = new MoeLayer(config, 2, weights, [cpu], new SessionOptions(Strict: true));
        using var onRef = new MoeLayer(config, 2, weights, [reference]);
        var x = SyntheticCheckpoint.Activations(45, config.Hidden);
        var a = onCpu.Run(x);
        var e = onRef.Run(x);
        Assert.That(a.TopkIds.ToI32(), Is.EqualTo(e.TopkIds.ToI32()));
        Assert.That(Harness.RelativeError(a.Output.AsSpan<float>(), e.Output.AsSpan<float>()), Is.LessThan(Harness.Tolerance));
        var again = onCpu.Run(x);
        Assert.That(again.Output.AsSpan<float>().SequenceEqual(a.Output.AsSpan<float>()), Is.True, "runs are deterministic");
    }

    /// <summary>
    /// Steady-state runs allocate nothing in the backend: what a run allocates is the session's
    /// result tensors and bookkeeping, the same at 4 and at 96 tokens rather than growing with the
    /// work (fused experts, row blocks and tiles reuse memory kept by the backend).
    /// </summary>
    [TestCase(SyntheticFormat.F32)]
    [TestCase(SyntheticFormat.Fp8)]
    public void Steady_state_runs_allocate_only_their_results(SyntheticFormat format)
    {
        var config = MoePresets.DeepSeekV3Tiny with { Hidden = 256, ExpertWidth = 96, SharedWidth = 192, Experts = 16 };
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(config, 2, format)), config, 2);
        using var cpu = new CpuBackend(new CpuBackendOptions(Threads: 2));
        using var layer = new MoeLayer(config, 2, weights, [cpu], new SessionOptions(Strict: true));
        long PerRun(int tokens)
        {
            var x = SyntheticCheckpoint.Activations(tokens, config.Hidden);
            layer.Run(x);
            layer.Run(x);

            // The count is the whole process's (pool workers included), so another thread of the
            // test host may allocate during a block: the least of three blocks of 4 runs is taken.
            long least = long.MaxValue;
            for (int block = 0; block < 3; block++)
            {
                long before = GC.GetTotalAllocatedBytes(precise: true);
                for (int i = 0; i < 4; i++) { layer.Run(x); }
                least = Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - before);
            }

            long outputBytes = (long)tokens * config.Hidden * 4;
            return least / 4 - outputBytes;
        }

        long small = PerRun(4), large = PerRun(96);
        TestContext.Out.WriteLine($"allocated per run besides the output: {small} B at 4 tokens, {large} B at 96 tokens");
        Assert.That(large, Is.LessThan(small + 96 * 64), "allocation must not grow with the tokens beyond the results");
    }

    /// <summary>
    /// A caller that keeps its result (<see cref="MoeLayer.Run(Accel.Types.HostTensor, MoeResult, Accel.Types.HostTensor?)"/>)
    /// runs without allocating on its thread: the layer, the session and the backend reuse what the
    /// first runs made (before, about 3.5 KB per run: enumerators, dictionaries, shapes, list nodes).
    /// </summary>
    [TestCase(SyntheticFormat.F32, 1)]
    [TestCase(SyntheticFormat.F32, 7)]
    [TestCase(SyntheticFormat.BF16, 1)]
    [TestCase(SyntheticFormat.Fp8, 7)]
    [TestCase(SyntheticFormat.Fp4, 1)]
    [TestCase(SyntheticFormat.Fp4, 7)]
    public void Runs_into_a_kept_result_allocate_nothing_on_the_calling_thread(SyntheticFormat format, int tokens)
    {
        var config = MoePresets.DeepSeekV3Tiny with { Hidden = 256, ExpertWidth = 128, SharedWidth = 256, Experts = 16 };
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(config, 2, format)), config, 2);
        using var cpu = new CpuBackend(new CpuBackendOptions(Threads: 2));
        using var layer = new MoeLayer(config, 2, weights, [cpu], new SessionOptions(Strict: true));
        var x = SyntheticCheckpoint.Activations(tokens, config.Hidden);
        var result = layer.NewResult(tokens);
        for (int i = 0; i < 10; i++) { layer.Run(x, result); }

        // Four blocks of 8 runs. Our code's allocations would recur in every block; a one-off
        // event of the runtime (a tier-up or a lazily made runtime object landing in a block on a
        // loaded machine) shows in one block only, so three of the four blocks must be clean.
        var blocks = new long[4];
        for (int b = 0; b < blocks.Length; b++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 8; i++) { layer.Run(x, result); }
            blocks[b] = GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Assert.That(blocks.Count(a => a == 0), Is.GreaterThanOrEqualTo(blocks.Length - 1),
            $"bytes allocated by each block of 8 runs: {string.Join(", ", blocks)}");
    }

    /// <summary>
    /// Sessions that share one backend (as a host's layers do) may run from several threads at
    /// once: each result equals the same layer run alone.
    /// </summary>
    [Test]
    public void Layers_sharing_a_backend_run_concurrently()
    {
        var config = MoePresets.DeepSeekV3Tiny with { Hidden = 256, ExpertWidth = 96, SharedWidth = 192, Experts = 16 };
        using var cpu = new CpuBackend(new CpuBackendOptions(Threads: 2));
        var layers = new[] { 1, 2, 3 }.Select(seed =>
        {
            var w = MoeWeightLoader.Load(new InMemoryTensorSource(SyntheticCheckpoint.Create(config, 2, SyntheticFormat.F32, seed)), config, 2);
            return new MoeLayer(config, 2, w, [cpu], new SessionOptions(Strict: true));
        }).ToArray();
        try
        {
            var inputs = new[] { 5, 40, 17 }.Select(t => SyntheticCheckpoint.Activations(t, config.Hidden)).ToArray();
            var alone = layers.Select((l, i) => l.Run(inputs[i]).Output.AsSpan<float>().ToArray()).ToArray();
            var together = new float[layers.Length][];
            Parallel.For(0, 3 * layers.Length, new ParallelOptions { MaxDegreeOfParallelism = 3 }, j =>
            {
                int i = j % layers.Length;
                together[i] = layers[i].Run(inputs[i]).Output.AsSpan<float>().ToArray();
            });
            for (int i = 0; i < layers.Length; i++)
            {
                Assert.That(together[i], Is.EqualTo(alone[i]), $"layer {i} run concurrently");
            }
        }
        finally
        {
            foreach (var l in layers) { l.Dispose(); }
        }
    }
}
