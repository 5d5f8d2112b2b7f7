using Accel.Graph;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>Dispatch, grouped GEMMs in every weight format, SwiGLU and combine, against the reference.</summary>
public sealed class ExpertOpTests
{
    private const int Experts = 8, K = 3;

    private static readonly string[] Formats = ["f32", "bf16", "f16", "fp8", "fp8-e8", "fp4"];

    private static IEnumerable<TestCaseData> ChainCases()
    {
        (int Din, int Dout)[] shapes = [(48, 40), (200, 136), (64, 32)];
        int[] tokens = [0, 1, 5, 37, 64];
        int n = 0;
        foreach (string f in Formats)
        {
            foreach (var (din, dout) in shapes)
            {
                foreach (int t in tokens)
                {
                    n++;
                    int align = n % 3 == 0 ? 4 : 1;
                    bool before = n % 2 == 0;
                    float? limit = n % 5 == 0 ? 0.05f : null;
                    yield return new TestCaseData(f, din, dout, t, align, before, limit)
                        .SetName($"Chain_{f}_{din}x{dout}_T{t}_A{align}_{(before ? "wBefore" : "wAfter")}{(limit is null ? "" : "_clamp")}");
                }
            }
        }
    }

    [TestCaseSource(nameof(ChainCases))]
    public void Routed_expert_chain_matches_the_reference(string format, int din, int dout, int tokens, int align,
        bool weightBeforeDown, float? limit)
    {
        var (graph, weights, inputs) = Chain(format, din, dout, tokens, align, weightBeforeDown, limit, everyValue: true);
        var (cpu, reference) = Harness.RunBoth(graph, weights, inputs);
        Harness.AssertSame(cpu, reference);
    }

    private static IEnumerable<TestCaseData> FusedCases()
    {
        // 640 and 1152 inputs: long panels (several fp8 scale blocks) with segments of several row blocks.
        (int Din, int Dout)[] shapes = [(64, 32), (200, 136), (128, 48), (640, 64), (1152, 32)];
        int n = 0;
        foreach (string f in Formats)
        {
            foreach (var (din, dout) in shapes)
            {
                foreach (int t in new[] { 1, 37, 64 })
                {
                    n++;
                    bool before = n % 2 == 0;
                    float? limit = n % 3 == 0 ? 0.05f : null;
                    yield return new TestCaseData(f, din, dout, t, before, limit)
                        .SetName($"Fused_{f}_{din}x{dout}_T{t}_{(before ? "wBefore" : "wAfter")}{(limit is null ? "" : "_clamp")}");
                }
            }
        }
    }

    /// <summary>
    /// With only the layer output exposed the backend fuses gate, up and SwiGLU; the fused run must
    /// match the reference and the same backend with fusion turned off.
    /// </summary>
    [TestCaseSource(nameof(FusedCases))]
    public void Fused_routed_expert_chain_matches_the_reference_and_the_unfused_run(string format, int din, int dout,
        int tokens, bool weightBeforeDown, float? limit)
    {
        var (graph, weights, inputs) = Chain(format, din, dout, tokens, 1, weightBeforeDown, limit, everyValue: false);
        var (fused, reference) = Harness.RunBoth(graph, weights, inputs);
        var (unfused, _) = Harness.RunBoth(graph, weights, inputs, new Accel.Backends.Cpu.CpuBackendOptions(Threads: 2, Fuse: false));
        Harness.AssertSame(fused, reference, context: "fused");
        Harness.AssertSame(unfused, reference, context: "unfused");
        Harness.AssertSame(fused, unfused, tolerance: 1e-6, context: "fused vs unfused");

        // Every fp32/bf16 segment on AMX tiles (the same AVX-512 run where AMX is not available).
        var (amx, _) = Harness.RunBoth(graph, weights, inputs, new Accel.Backends.Cpu.CpuBackendOptions(Threads: 2, AmxMinRows: 1, AmxFp32: true));
        var (amxUnfused, _) = Harness.RunBoth(graph, weights, inputs,
            new Accel.Backends.Cpu.CpuBackendOptions(Threads: 2, Fuse: false, AmxMinRows: 1, AmxFp32: true));
        Harness.AssertSame(amx, reference, context: "amx");
        Harness.AssertSame(amxUnfused, reference, context: "amx unfused");
        Harness.AssertSame(amx, unfused, context: "amx vs avx");
    }

    /// <summary>
    /// The decode kernels the processor may or may not run by default, each forced on or off: FP4 on
    /// fp32 FMA instead of AVX-VNNI, FP4 on 256-bit AVX-VNNI instead of the 512-bit kernel, bf16 on
    /// AVX512-BF16 (an option that is off by default), against the reference and the default run.
    /// Token counts keep segments of one to a few rows.
    /// </summary>
    [TestCase("fp4", 1, false, false, false)]
    [TestCase("fp4", 5, false, false, false)]
    [TestCase("fp4", 37, false, false, false)]
    [TestCase("fp4", 1, true, false, false)]
    [TestCase("fp4", 5, true, false, false)]
    [TestCase("fp4", 37, true, false, false)]
    [TestCase("bf16", 1, true, true, true)]
    [TestCase("bf16", 5, true, true, true)]
    [TestCase("bf16", 37, true, true, true)]
    public void Optional_decode_kernels_match_the_reference(string format, int tokens, bool vnni, bool vnni512, bool bf16Dot)
    {
        if (bf16Dot)
        {
            Assume.That(Accel.Backends.Cpu.Bf16.Bf16Runtime.IsAvailable, "this processor has no AVX512-BF16");
        }

        foreach (var (din, dout) in new[] { (128, 64), (640, 64), (200, 136) })
        {
            var (graph, weights, inputs) = Chain(format, din, dout, tokens, 1, true, null, everyValue: false);
            var options = new Accel.Backends.Cpu.CpuBackendOptions(Threads: 2, Vnni: vnni, Bf16Dot: bf16Dot, Vnni512: vnni512);
            var (forced, reference) = Harness.RunBoth(graph, weights, inputs, options);
            var (standard, _) = Harness.RunBoth(graph, weights, inputs);
            Harness.AssertSame(forced, reference, context: $"{din}x{dout} forced");
            Harness.AssertSame(forced, standard, tolerance: 1e-5, context: $"{din}x{dout} forced vs default");
        }
    }

    /// <summary>
    /// Weights holding special codes (an fp8 NaN, an f16 infinity) go to the exact row decoder,
    /// which reads them in the panel layout the backend keeps them in: a code in the down weight of
    /// every expert and in one expert's gate, for one to many tokens, against the reference.
    /// </summary>
    [TestCase("fp8", 1)]
    [TestCase("fp8", 5)]
    [TestCase("fp8-e8", 37)]
    [TestCase("f16", 1)]
    [TestCase("f16", 37)]
    public void Special_weight_codes_are_decoded_exactly_in_the_stored_layout(string format, int tokens)
    {
        const int din = 128, dout = 64;
        var (graph, weights, inputs) = Chain(format, din, dout, tokens, 1, true, null, everyValue: false);
        void Mark(string name, int expert, int row, int column, int cols, int rows)
        {
            long at = ((long)expert * rows + row) * cols + column;
            var bytes = weights[name].Bytes;
            if (format == "f16")
            {
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(bytes[(int)(2 * at)..], 0x7C00); // +infinity
            }
            else
            {
                bytes[(int)at] = 0x7F; // e4m3 NaN
            }
        }

        for (int e = 0; e < Experts; e++)
        {
            Mark("down", e, (5 * e + 3) % din, (7 * e + 1) % dout, dout, din);
        }

        Mark("gate", 2, 17, 40, din, dout);
        var (cpu, reference) = Harness.RunBoth(graph, weights, inputs);
        Assert.That(cpu.Values.Any(t => t.Type == DType.F32 && t.AsSpan<float>().ToArray().Any(v => !float.IsFinite(v))), Is.True,
            "the special codes reach the output");
        Harness.AssertSame(cpu, reference);
    }

    /// <summary>
    /// FP4 scale codes off the normal range (0 is 2^-127, 255 NaN) keep the weight off the integer
    /// and block kernels, which build scales by shifting the code into an exponent; the exact decoder
    /// takes it, for one to many tokens, fused and unfused, against the reference.
    /// </summary>
    [TestCase(0, 1, true)]
    [TestCase(0, 37, false)]
    [TestCase(255, 1, false)]
    [TestCase(255, 5, true)]
    [TestCase(255, 37, true)]
    public void Fp4_scale_codes_off_the_normal_range_are_decoded_exactly(int code, int tokens, bool fuse)
    {
        var (graph, weights, inputs) = Chain("fp4", 256, 128, tokens, 1, true, null, everyValue: false);
        var scales = weights["gate.scale"].Bytes;
        for (int i = 5; i < scales.Length; i += 97)
        {
            scales[i] = (byte)code;
        }

        var (cpu, reference) = Harness.RunBoth(graph, weights, inputs, new Accel.Backends.Cpu.CpuBackendOptions(Threads: 2, Fuse: fuse));
        Assert.That(cpu.Values.Any(t => t.Type == DType.F32 && t.AsSpan<float>().ToArray().Any(v => !float.IsFinite(v))), Is.EqualTo(code == 255),
            "NaN scales reach the output, 2^-127 ones leave it finite");
        Harness.AssertSame(cpu, reference);
    }

    /// <summary>
    /// FP4 weights in the four-row layout, with an activation the integer kernels cannot quantize (an
    /// infinity): the products fall back to the exact row decoder, which reads the rows out of their
    /// groups; against the reference, fused and unfused.
    /// </summary>
    [TestCase(1, true)]
    [TestCase(2, false)]
    [TestCase(5, true)]
    public void Fp4_rows_in_the_quad_layout_fall_back_exactly_when_an_activation_is_infinite(int tokens, bool everyValue)
    {
        var (graph, weights, inputs) = Chain("fp4", 256, 128, tokens, 1, true, null, everyValue);
        inputs["x"].AsSpan<float>()[3] = float.PositiveInfinity;
        var (cpu, reference) = Harness.RunBoth(graph, weights, inputs);
        Assert.That(cpu.Values.Any(t => t.Type == DType.F32 && t.AsSpan<float>().ToArray().Any(float.IsFinite)), Is.True, "finite outputs remain to compare");
        Harness.AssertSame(cpu, reference);
    }

    /// <summary>
    /// One-row FP4 decode in the quad layout with two groups side by side (a gate group beside its up
    /// group when fused; group j beside group j + G/2 of each single weight) gives bit for bit what
    /// one group at a time gives, and agrees with the reference.
    /// </summary>
    [TestCase(256, 48, true)]
    [TestCase(384, 80, false)]
    [TestCase(128, 208, true)]
    [TestCase(512, 16, false)]
    public void Fp4_two_groups_side_by_side_match_one_group_at_a_time(int din, int dout, bool fuse)
    {
        foreach (int tokens in new[] { 1, 2, 7 })
        {
            var (graph, weights, inputs) = Chain("fp4", din, dout, tokens, 1, true, null, everyValue: tokens == 7);
            var options = new Accel.Backends.Cpu.CpuBackendOptions(Threads: 2, Fuse: fuse);
            var (two, reference) = Harness.RunBoth(graph, weights, inputs, options);
            var (one, _) = Harness.RunBoth(graph, weights, inputs, options with { Fp4TwoGroups = false });
            Harness.AssertSame(two, reference, context: $"{din}x{dout} T{tokens} two groups");
            foreach (var (name, t) in one.Where(o => o.Value.Type == DType.F32))
            {
                Assert.That(two[name].AsSpan<float>().ToArray(), Is.EqualTo(t.AsSpan<float>().ToArray()), $"{din}x{dout} T{tokens} {name}: two groups vs one");
            }
        }
    }

    /// <summary>
    /// Decode tiles of a single weight in panels read panel j beside panel j + P/2 (two streams per
    /// thread) by default: unfused gate and up, and down, for one, two and five tokens (segments of
    /// one to a few rows), output counts of 4 to 64 panels (and 3, which keeps adjacent panels),
    /// against the reference and against the adjacent-panel tiles.
    /// </summary>
    [TestCase("f32")]
    [TestCase("bf16")]
    [TestCase("fp8")]
    [TestCase("fp8-e8")]
    public void Split_panel_decode_matches_the_reference_and_adjacent_panels(string format)
    {
        foreach (var (din, dout) in new[] { (64, 128), (96, 256), (256, 64), (128, 48), (1024, 128) })
        {
            foreach (int tokens in new[] { 1, 2, 5 })
            {
                var (graph, weights, inputs) = Chain(format, din, dout, tokens, 1, true, null, everyValue: true);
                var split = new Accel.Backends.Cpu.CpuBackendOptions(Threads: 2, Fuse: false);
                var (fast, reference) = Harness.RunBoth(graph, weights, inputs, split);
                var (adjacent, _) = Harness.RunBoth(graph, weights, inputs, split with { SplitPanels = false });
                Harness.AssertSame(fast, reference, context: $"{din}x{dout} T{tokens} split");
                Harness.AssertSame(fast, adjacent, tolerance: 1e-6, context: $"{din}x{dout} T{tokens} split vs adjacent");
            }
        }
    }

    /// <summary>
    /// FP4 weights whose gate, up and down all take the four-row interleaved layout (inputs a
    /// multiple of 128, outputs of 16) where the 512-bit VNNI kernel runs: segments of one and two
    /// rows (that kernel; in pair mode the gate and up groups alternate in one call, up to eight
    /// pairs of groups per call, which 2048 outputs exceed), three to seven (that kernel two rows at
    /// a time), eight and more (fp32 panels expanded from the groups), fused and unfused, with 22- and 8-bit
    /// activations, against the reference; and against the 256-bit kernel, which reads row-major rows.
    /// </summary>
    [TestCase(1, 22, 2e-6)]
    [TestCase(2, 22, 2e-6)]
    [TestCase(3, 22, 2e-6)]
    [TestCase(5, 22, 2e-6)]
    [TestCase(9, 22, 2e-6)]
    [TestCase(40, 22, 2e-6)]
    [TestCase(1, 8, 3e-2)]
    [TestCase(6, 8, 3e-2)]
    [TestCase(9, 8, 3e-2)]
    public void Fp4_weights_in_the_quad_layout_match_the_reference(int tokens, int bits, double tolerance)
    {
        foreach (var (din, dout) in new[] { (256, 128), (128, 144), (384, 256), (128, 2048) })
        {
            var (graph, weights, inputs) = Chain("fp4", din, dout, tokens, 1, true, null, everyValue: false);
            foreach (bool fuse in new[] { true, false })
            {
                var options = new Accel.Backends.Cpu.CpuBackendOptions(Threads: 2, Fuse: fuse, Fp4ActivationBits: bits);
                var (quads, reference) = Harness.RunBoth(graph, weights, inputs, options);
                Harness.AssertSame(quads, reference, tolerance, context: $"{din}x{dout} T={tokens} fuse={fuse}");
                var (rows, _) = Harness.RunBoth(graph, weights, inputs, options with { Vnni512 = false });
                Harness.AssertSame(quads, rows, tolerance, context: $"{din}x{dout} T={tokens} fuse={fuse} vs 256-bit kernel");
            }
        }
    }

    /// <summary>
    /// FP4 decode with fewer activation bits (two int8 terms: 16 bits, one: 8 bits, on the 512-bit
    /// and the 256-bit kernel) against the reference, within what that rounding allows: norm-wise
    /// 2e-5 to 4e-5 for 16 bits and 5e-3 to 1e-2 for 8 bits over the chain's two products
    /// (uniform rounding of step/512 or step/2, step = max/127 of a 32-column block); the bounds
    /// leave a factor of 3 to 5. Where the VNNI kernels run, the error must also be more than a
    /// hundredth of the bound, which 22-bit activations (about 1e-7) are not: the option took effect.
    /// </summary>
    [TestCase(16, 1, true, 2e-4)]
    [TestCase(16, 2, true, 2e-4)]
    [TestCase(16, 5, true, 2e-4)]
    [TestCase(16, 1, false, 2e-4)]
    [TestCase(16, 5, false, 2e-4)]
    [TestCase(8, 1, true, 3e-2)]
    [TestCase(8, 2, true, 3e-2)]
    [TestCase(8, 5, true, 3e-2)]
    [TestCase(8, 1, false, 3e-2)]
    [TestCase(8, 5, false, 3e-2)]
    public void Fp4_decode_with_fewer_activation_bits_matches_the_reference_within_their_rounding(int bits, int tokens, bool vnni512,
        double tolerance)
    {
        foreach (var (din, dout) in new[] { (128, 64), (640, 64), (256, 136) })
        {
            var (graph, weights, inputs) = Chain("fp4", din, dout, tokens, 1, true, null, everyValue: false);
            var options = new Accel.Backends.Cpu.CpuBackendOptions(Threads: 2, Vnni512: vnni512, Fp4ActivationBits: bits);
            var (fewer, reference) = Harness.RunBoth(graph, weights, inputs, options);
            Harness.AssertSame(fewer, reference, tolerance, context: $"{din}x{dout} {bits}-bit activations");
            if (options.UsesVnni)
            {
                // The rounding shows: 22-bit activations would be near 1e-7 here.
                Assert.That(Harness.RelativeError(fewer["combine"].AsSpan<float>(), reference["combine"].AsSpan<float>()),
                    Is.GreaterThan(tolerance / 100), $"{din}x{dout}: {bits}-bit activations in effect");
            }
        }
    }

    /// <summary>
    /// Activations beyond 2^36 cannot be pre-multiplied by 2^90 for the one-multiply fp8 decoders,
    /// nor (in panels, whose decode sums a block before its scale) non-zero ones below 2^-60: the
    /// row tiles keep the two-multiply decoder and the panel rows are packed again unscaled, and
    /// the result still matches the reference (128x64: panels; 200x136: rows). The tiny cases check
    /// the result only: with these weights they also pass without the 2^-60 guard.
    /// </summary>
    [TestCase(128, 64, 1, 3e11f)]
    [TestCase(128, 64, 37, 3e11f)]
    [TestCase(200, 136, 5, 3e11f)]
    [TestCase(128, 64, 1, 1e-37f)]
    [TestCase(128, 64, 37, 1e-37f)]
    public void Fp8_products_with_extreme_activations_match_the_reference(int din, int dout, int tokens, float scale)
    {
        var (graph, weights, inputs) = Chain("fp8", din, dout, tokens, 1, true, null, everyValue: false);
        var x = inputs["x"];
        var big = x.AsSpan<float>().ToArray();
        if (scale > 1)
        {
            big[big.Length / 2] = scale; // one activation beyond 2^36
        }
        else
        {
            for (int i = 0; i < big.Length; i++) { big[i] *= scale; } // every activation below 2^-60
        }

        inputs["x"] = HostTensor.FromF32(x.Shape, big);
        var (cpu, reference) = Harness.RunBoth(graph, weights, inputs);
        Harness.AssertSame(cpu, reference);
    }

    /// <summary>
    /// A weight rewritten into the panel layout by a matrix op and then read as plain data by
    /// another node is handed to that node row-major.
    /// </summary>
    [TestCase(32, 64)]
    [TestCase(48, 200)]
    public void A_weight_read_after_a_matrix_op_is_seen_in_its_stored_layout(int outDim, int inDim)
    {
        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, inDim);
        var w = b.Weight("w", DType.F32, outDim, inDim);
        var logits = b.RouterGemm("router", x, w);
        var twice = b.Sum("twice", w, w);
        b.Output(logits).Output(twice);
        var weights = new Dictionary<string, HostTensor> { ["w"] = Harness.Random(new Shape(outDim, inDim), 7) };
        var inputs = new Dictionary<string, HostTensor> { ["x"] = Harness.Random(new Shape(3, inDim), 8) };
        var (cpu, reference) = Harness.RunBoth(b.Build(), weights, inputs);
        Harness.AssertSame(cpu, reference);
    }

    /// <summary>The routed chain on random routing; every value is an output unless only the result is asked for.</summary>
    private static (Graph.Graph Graph, Dictionary<string, HostTensor> Weights, Dictionary<string, HostTensor> Inputs) Chain(
        string format, int din, int dout, int tokens, int align, bool weightBeforeDown, float? limit, bool everyValue)
    {
        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, din);
        var ids = b.Input("ids", DType.I32, Dim.Tokens, K);
        var w = b.Input("w", DType.F32, Dim.Tokens, K);
        var weights = new Dictionary<string, HostTensor>();
        Value Wt(string name, int o, int i, int seed, out Value? scale)
        {
            var (t, s) = Harness.Weight(format, Experts, o, i, seed);
            weights[name] = t;
            scale = null;
            if (s is not null)
            {
                weights[name + ".scale"] = s;
                scale = b.Weight(name + ".scale", s.Type, [.. s.Shape]);
            }

            return b.Weight(name, t.Type, [.. t.Shape]);
        }

        var counts = b.ExpertHistogram("hist", ids, Experts);
        var off = b.ExclusiveScan("scan", counts, Experts, align);
        var (ptt, pts, tsp) = b.BuildPermutation("perm", ids, off, Experts, align);
        var xp = b.Permute("permute", x, ptt);
        var gw = Wt("gate", dout, din, 11, out var gs);
        var uw = Wt("up", dout, din, 12, out var us);
        var dw = Wt("down", din, dout, 13, out var ds);
        var g = b.GroupedGemm("g", xp, gw, gs, off);
        var u = b.GroupedGemm("u", xp, uw, us, off);
        var a = weightBeforeDown ? b.SwiGlu("act", g, u, limit, w, ptt, pts) : b.SwiGlu("act", g, u, limit);
        var d = b.GroupedGemm("d", a, dw, ds, off);
        var y = b.Unpermute("combine", d, tsp, weightBeforeDown ? null : w);
        foreach (var v in everyValue ? new[] { counts, off, ptt, pts, tsp, xp, g, u, a, d, y } : [y])
        {
            b.Output(v);
        }

        var inputs = new Dictionary<string, HostTensor>
        {
            ["x"] = Harness.Random(new Shape(tokens, din), 1),
            ["ids"] = Harness.ExpertIds(tokens, K, Experts, 2, skew: tokens >= 37 && format is "bf16" or "f32"),
            ["w"] = Harness.Random(new Shape(tokens, K), 3),
        };
        return (b.Build(), weights, inputs);
    }

    private static IEnumerable<TestCaseData> SharedCases()
    {
        int n = 0;
        foreach (string f in Formats)
        {
            foreach (int t in new[] { 0, 1, 13, 60 })
            {
                n++;
                yield return new TestCaseData(f, t, n % 2 == 0, n % 3 == 0 ? 0.1f : (float?)null)
                    .SetName($"Shared_{f}_T{t}{(n % 2 == 0 ? "_gated" : "")}{(n % 3 == 0 ? "_clamp" : "")}");
            }
        }
    }

    [TestCaseSource(nameof(SharedCases))]
    public void Shared_expert_matches_the_reference(string format, int tokens, bool gated, float? limit)
    {
        const int D = 136, I = 72;
        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, D);
        var weights = new Dictionary<string, HostTensor>();
        ProjectionWeights P(string name, int o, int i, int seed)
        {
            var (t, s) = Harness.Weight(format, 1, o, i, seed);
            weights[name] = Harness.Single(t);
            Value? sv = null;
            if (s is not null)
            {
                weights[name + ".scale"] = Harness.Single(s);
                sv = b.Weight(name + ".scale", s.Type, [.. s.Shape.Skip(1)]);
            }

            return new ProjectionWeights(b.Weight(name, t.Type, [.. t.Shape.Skip(1)]), sv);
        }

        Value? gate = null;
        if (gated)
        {
            weights["sg"] = Harness.Random(new Shape(1, D), 9, 0.1);
            gate = b.Weight("sg", DType.F32, 1, D);
        }

        var z = b.SharedExpert("shared", x, P("w1", I, D, 21), P("w3", I, D, 22), P("w2", D, I, 23), limit, gate);
        b.Output(z);
        var inputs = new Dictionary<string, HostTensor> { ["x"] = Harness.Random(new Shape(tokens, D), 4) };
        var (cpu, reference) = Harness.RunBoth(b.Build(), weights, inputs);
        Harness.AssertSame(cpu, reference);
    }

    [TestCase("fp8", 3)]
    [TestCase("fp8-e8", 2)]
    [TestCase("fp4", 3)]
    [TestCase("fp8", 2)]
    public void Dequantise_ops_match_the_reference(string format, int rank)
    {
        var (t, s) = Harness.Weight(format, 2, 136, 200, 5);
        if (rank == 2)
        {
            (t, s) = (Harness.Single(new HostTensor(t.Type, new Shape(1, 136, 200), t.Bytes[..(int)(t.Bytes.Length / 2)].ToArray())),
                Harness.Single(new HostTensor(s!.Type, new Shape((long[])[1, .. s.Shape.Skip(1)]), s.Bytes[..(s.Bytes.Length / 2)].ToArray())));
        }

        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, 128);
        var wv = b.Weight("w", t.Type, [.. t.Shape]);
        var sv = b.Weight("s", s!.Type, [.. s.Shape]);
        var dq = format == "fp4" ? b.DequantFp4("dq", wv, sv) : b.DequantFp8Block("dq", wv, sv);
        var (q, qs) = b.ActQuantFp8("aq", x, powerOfTwoScales: rank == 2);
        b.Output(dq).Output(q).Output(qs);
        var weights = new Dictionary<string, HostTensor> { ["w"] = t, ["s"] = s };
        var inputs = new Dictionary<string, HostTensor> { ["x"] = Harness.Random(new Shape(5, 128), 6, 3) };
        var (cpu, reference) = Harness.RunBoth(b.Build(), weights, inputs);
        Harness.AssertSame(cpu, reference, tolerance: 1e-7);
    }
}
