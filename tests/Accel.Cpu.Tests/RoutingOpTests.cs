using Accel.Backends.Cpu;
using Accel.Graph;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>Router, scores, bias, group limit, top-k, weights, hash routing, dispatch, norm and add, against the reference.</summary>
public sealed partial class RoutingOpTests
{
    /// <summary>Both SIMD paths: AVX-512 where the processor has it (else portable again) and portable.</summary>
    private static readonly CpuSimd[] Paths = [CpuSimd.Auto, CpuSimd.Portable];

    private static CpuBackendOptions On(CpuSimd simd) => new(Threads: 2, Simd: simd);

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var func in Enum.GetValues<ScoreFunc>())
        {
            foreach (var score in Enum.GetValues<GroupScore>())
            {
                foreach (int t in new[] { 0, 1, 9, 70 })
                {
                    foreach (string router in new[] { "f32", "bf16" })
                    {
                        yield return new TestCaseData(func, score, t, router).SetName($"Routing_{func}_{score}_T{t}_{router}");
                    }
                }
            }
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Routing_chain_matches_the_reference(ScoreFunc func, GroupScore score, int tokens, string routerFormat)
    {
        const int D = 72, E = 16;
        var b = new GraphBuilder();
        var h = b.Input("h", DType.F32, Dim.Tokens, D);
        var norm = b.Weight("norm", DType.F32, D);
        var (router, _) = Harness.Weight(routerFormat, 1, E, D, 31);
        var rw = b.Weight("router", router.Type, E, D);
        var bias = b.Weight("bias", DType.F32, E);
        var x = b.RmsNorm("rms", h, norm);
        var logits = b.RouterGemm("logits", x, rw);
        var p = b.RouterScore("score", logits, func);
        var q = b.SelectionBias("biased", p, bias);
        var masked = b.GroupLimitMask("groups", q, 4, 2, score);
        var ids = b.TopK("topk", masked, 4);
        var w = b.RouteWeights("weights", p, ids, normalize: func != ScoreFunc.Softmax, 2.5f, 1e-20f);
        var sum = b.Sum("sum", x, h);
        foreach (var v in new[] { x, logits, p, q, masked, ids, w, sum })
        {
            b.Output(v);
        }

        var weights = new Dictionary<string, HostTensor>
        {
            ["norm"] = Harness.Random(new Shape(D), 32),
            ["router"] = Harness.Single(router),
            ["bias"] = Harness.Random(new Shape(E), 33, 0.1),
        };
        var inputs = new Dictionary<string, HostTensor> { ["h"] = Harness.Random(new Shape(tokens, D), 34, 4) };
        var (cpu, reference) = Harness.RunBoth(b.Build(), weights, inputs);
        Harness.AssertSame(cpu, reference);
    }

    private static IEnumerable<TestCaseData> HashCases() =>
        from simd in Paths
        from t in new[] { 0, 1, 11, 1000 }
        select new TestCaseData(simd, t).SetName($"Hash_{simd}_T{t}");

    [TestCaseSource(nameof(HashCases))]
    public void Hash_routing_matches_the_reference(CpuSimd simd, int tokens)
    {
        const int V = 20, E = 12, K = 6;
        var b = new GraphBuilder();
        var tid = b.Input("tid", DType.I32, Dim.Tokens);
        var table = b.Weight("table", DType.I32, V, K);
        b.Output(b.HashRoute("hash", tid, table, E));
        var rng = new Random(3);
        var rows = Enumerable.Range(0, V).SelectMany(_ => Enumerable.Range(0, E).OrderBy(_ => rng.Next()).Take(K)).ToArray();
        var weights = new Dictionary<string, HostTensor> { ["table"] = HostTensor.FromI32(new Shape(V, K), rows) };
        HostTensor Ids(int shift) =>
            HostTensor.FromI32(new Shape(tokens), Enumerable.Range(0, tokens).Select(i => (i * 7 + shift) % V).ToArray());
        var inputs = new Dictionary<string, HostTensor> { ["tid"] = Ids(0) };
        var cpu = Harness.RunCpu(b.Build(), weights, On(simd), new Dictionary<string, HostTensor> { ["tid"] = Ids(3) }, inputs);
        Harness.AssertSame(cpu, Harness.RunReference(b.Build(), weights, inputs));
    }
}
