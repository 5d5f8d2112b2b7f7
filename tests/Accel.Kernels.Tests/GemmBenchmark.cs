using System.Diagnostics;
using Accel.Backends;
using Accel.Backends.Ilgpu;
using Accel.Execution;
using Accel.Graph;
using Accel.Types;
using NUnit.Framework;

namespace Accel.Kernels.Tests;

/// <summary>
/// A tiny benchmark of the grouped GEMM (FP8 weights, dequantised in the load path) on ilgpu-cpu and,
/// when present, cuda:0. Not run by default: <c>dotnet test --filter TestCategory=bench</c>.
/// </summary>
[TestFixture]
[Explicit("benchmark")]
[Category("bench")]
public sealed class GemmBenchmark
{
    [Test]
    public void GroupedGemmFp8()
    {
        Report(Backends.Cpu, tokens: 64, experts: 8, hidden: 256, width: 128, runs: 3);
        var provider = new IlgpuProvider();
        if (provider.EnumerateDevices().FirstOrDefault(d => d.Id == "cuda:0") is { } cuda)
        {
            using var gpu = provider.Create(cuda);
            Report((IlgpuBackend)gpu, tokens: 4096, experts: 256, hidden: 4096, width: 2048, runs: 5);
        }
    }

    private static void Report(IlgpuBackend backend, int tokens, int experts, int hidden, int width, int runs)
    {
        const int k = 6;
        int a = backend.PreferredSegmentAlignment;
        var r = new TestRng(5);
        var dispatch = Dispatch.Build(r.Experts(tokens, k, experts, Routing.Random), tokens, k, experts, a);
        var (w, s) = r.Fp8Weight(DType.UE8M0, experts, width, hidden, stacked: true);
        var g = new GraphBuilder();
        var rows = g.Input("rows", DType.F32, dispatch.Rows, hidden);
        var off = g.Input("offsets", DType.I32, experts + 1);
        g.Output(g.GroupedGemm("gemm", rows, g.Weight("w", DType.F8E4M3, experts, width, hidden),
            g.Weight("s", DType.UE8M0, [.. s.Shape]), off));
        var weights = new Dictionary<string, HostTensor> { ["w"] = w, ["s"] = s };
        var inputs = new Dictionary<string, HostTensor>
        {
            ["rows"] = HostTensor.FromF32(new Shape(dispatch.Rows, hidden), r.Floats((long)dispatch.Rows * hidden)),
            ["offsets"] = HostTensor.FromI32(new Shape(experts + 1), dispatch.Offsets),
        };
        using var session = new GraphSession(g.Build(), [backend], weights, new SessionOptions(Strict: true));
        session.Run(inputs);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < runs; i++)
        {
            session.Run(inputs);
        }

        double seconds = watch.Elapsed.TotalSeconds / runs;
        double flops = 2.0 * tokens * k * hidden * width;
        double bytes = w.Bytes.Length + 4.0 * dispatch.Rows * (hidden + width);
        TestContext.Out.WriteLine($"{backend.Device.Id} tile {backend.GemmTile}: {tokens} tokens x top-{k}, {experts} experts, " +
            $"{hidden}->{width} fp8: {seconds * 1e3:0.###} ms per run (with transfers), {flops / seconds / 1e9:0.###} GFLOP/s, " +
            $"{bytes / seconds / 1e9:0.###} GB/s");
    }
}
