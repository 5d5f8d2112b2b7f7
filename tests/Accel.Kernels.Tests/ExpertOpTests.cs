using Accel.Graph;
using Accel.Types;
using NUnit.Framework;
using static Accel.Kernels.Tests.RoutingOpTests;

namespace Accel.Kernels.Tests;

/// <summary>OP-12, 13, 15 and 17 on ilgpu-cpu against the reference.</summary>
[TestFixture]
public sealed class ExpertOpTests
{
    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(OpCase c) => Conformance.Check(c);

    public static IEnumerable<TestCaseData> Cases() => All().Select(c => c.ToTestCase());

    /// <summary>Weight storage variants: dtype and scale dtype (null for none).</summary>
    public static readonly (DType Type, DType? Scale)[] Formats =
    [
        (DType.F32, null), (DType.BF16, null), (DType.F16, null),
        (DType.F8E4M3, DType.F32), (DType.F8E4M3, DType.UE8M0), (DType.F4E2M1, DType.UE8M0),
    ];

    private static IEnumerable<OpCase> All()
    {
        foreach (var (type, scale) in Formats)
        {
            foreach (var (t, k, e, din, dout, a, routing) in new[]
            {
                (0, 2, 4, 40, 24, 1, Routing.Random), (0, 2, 4, 40, 24, 16, Routing.Random),
                (1, 1, 3, 34, 17, 1, Routing.Random), (1, 2, 3, 34, 17, 16, Routing.Random),
                (13, 3, 8, 40, 24, 1, Routing.Skewed), (13, 3, 8, 40, 24, 16, Routing.OneExpert),
                (9, 2, 5, 64, 40, 3, Routing.OddOnly), (20, 2, 6, 200, 136, 16, Routing.Random),
            })
            {
                yield return new($"GroupedGemm {Name(type, scale)} T{t} K{k} E{e} {din}->{dout} A{a} {routing}",
                    () => GroupedGemm(type, scale, t, k, e, din, dout, a, routing));
            }
        }

        foreach (var (t, k, e, a, width, limit, weighted) in new[]
        {
            (0, 2, 4, 16, 6, (float?)null, true), (1, 2, 4, 1, 7, 10f, false), (9, 3, 5, 4, 20, 10f, true),
            (12, 2, 6, 16, 9, null, false),
        })
        {
            yield return new($"SwiGlu T{t} K{k} E{e} A{a} I{width} limit={limit} weights={weighted}", () =>
            {
                var r = new TestRng(t + k + e + a + width);
                var dispatch = Dispatch.Build(r.Experts(t, k, e, Routing.Random), t, k, e, a);
                int n = dispatch.Rows;
                var g = new GraphBuilder();
                var gate = g.Input("gate", DType.F32, n, width);
                var up = g.Input("up", DType.F32, n, width);
                Value? w = null, ptt = null, pts = null;
                if (weighted)
                {
                    w = g.Input("w", DType.F32, t, k);
                    ptt = g.Input("ptt", DType.I32, n);
                    pts = g.Input("pts", DType.I32, n);
                }

                g.Output(g.SwiGlu("swiglu", gate, up, limit, w, ptt, pts));
                var tensors = new List<(string, HostTensor)>
                {
                    ("gate", F32(r.Floats(n * width, -30, 30), n, width)), ("up", F32(r.Floats(n * width, -30, 30), n, width)),
                };
                if (weighted)
                {
                    tensors.Add(("w", F32(r.Floats(t * k, 0, 1), t, k)));
                    tensors.Add(("ptt", I32(dispatch.PosToToken, n)));
                    tensors.Add(("pts", I32(dispatch.PosToSlot, n)));
                }

                return Data(g, [.. tensors]);
            });
        }

        foreach (var (t, d, inner, index, limit, gateType) in new[]
        {
            (0, 16, 8, 0, (float?)null, (DType?)null), (1, 40, 24, 1, 10f, DType.F32), (5, 40, 24, 4, 10f, null),
            (5, 136, 40, 3, null, DType.BF16), (4, 64, 32, 5, 10f, null), (3, 40, 24, 2, null, DType.F16),
        })
        {
            var (type, scale) = Formats[index];
            yield return new($"SharedExpert {Name(type, scale)} T{t} D{d} Is{inner} limit={limit} gate={gateType}",
                () => SharedExpert(type, scale, t, d, inner, limit, gateType));
        }

        foreach (var (shape, scale) in new (long[], DType)[]
        {
            ([2, 136, 200], DType.F32), ([130, 129], DType.UE8M0), ([1, 5, 7], DType.F32), ([0, 128], DType.UE8M0),
        })
        {
            yield return new($"DequantFp8Block [{string.Join(", ", shape)}] scale {scale.ShortName()}", () =>
            {
                var r = new TestRng((int)shape.Sum());
                bool stacked = shape.Length == 3;
                var (w, s) = r.Fp8Weight(scale, stacked ? shape[0] : 1, shape[^2], shape[^1], stacked);
                var g = new GraphBuilder();
                var wv = g.Weight("w", DType.F8E4M3, shape);
                var sv = g.Weight("s", scale, [.. s.Shape]);
                g.Output(g.DequantFp8Block("dequant", wv, sv));
                return Data(g, ("w", w), ("s", s));
            });
        }

        foreach (long[] shape in new long[][] { [5, 64], [2, 3, 34], [1, 2] })
        {
            yield return new($"DequantFp4 [{string.Join(", ", shape)}]", () =>
            {
                var r = new TestRng((int)shape.Sum() + 1);
                bool stacked = shape.Length == 3;
                var (w, s) = r.Fp4Weight(stacked ? shape[0] : 1, shape[^2], shape[^1], stacked);
                var g = new GraphBuilder();
                var wv = g.Weight("w", DType.F4E2M1, shape);
                var sv = g.Weight("s", DType.UE8M0, [.. s.Shape]);
                g.Output(g.DequantFp4("dequant", wv, sv));
                return Data(g, ("w", w), ("s", s));
            });
        }

        foreach (var (t, c, pow2) in new[] { (0, 128, false), (1, 128, true), (5, 256, false), (6, 384, true) })
        {
            yield return new($"ActQuantFp8 T{t} C{c} pow2={pow2}", () =>
            {
                var r = new TestRng(t + c);
                var x = r.Floats(t * c, -50, 50);
                for (int i = 0; i < Math.Min(128, x.Length); i++)
                {
                    x[i] *= 1e-7f; // a block below the 1e-4 amax floor
                }

                var g = new GraphBuilder();
                var xv = g.Input("x", DType.F32, t, c);
                var (q, s) = g.ActQuantFp8("quant", xv, pow2);
                g.Output(q).Output(s);
                return Data(g, ("x", F32(x, t, c)));
            });
        }
    }

    public static string Name(DType type, DType? scale) =>
        scale is null ? type.ShortName() : $"{type.ShortName()}/{scale.Value.ShortName()}";

    /// <summary>A weight [E, out, in] (or [out, in]) of the given format with its scale.</summary>
    public static (HostTensor Weight, HostTensor? Scale) MakeWeight(TestRng r, DType type, DType? scale,
        long e, long o, long i, bool stacked) =>
        type switch
        {
            DType.F8E4M3 => r.Fp8Weight(scale!.Value, e, o, i, stacked),
            DType.F4E2M1 => r.Fp4Weight(e, o, i, stacked),
            _ => (stacked ? r.FloatWeight(type, e, o, i) : r.FloatWeight(type, o, i), null),
        };

    private static CaseData GroupedGemm(DType type, DType? scale, int t, int k, int e, int din, int dout, int a, Routing routing)
    {
        var r = new TestRng(t * 101 + k * 13 + e * 7 + din + dout + a + (int)type);
        var dispatch = Dispatch.Build(r.Experts(t, k, e, routing), t, k, e, a);
        int n = dispatch.Rows;
        var (w, s) = MakeWeight(r, type, scale, e, dout, din, stacked: true);
        var g = new GraphBuilder();
        var rows = g.Input("rows", DType.F32, n, din);
        var offsets = g.Input("offsets", DType.I32, e + 1);
        var wv = g.Weight("w", type, e, dout, din);
        var sv = s is null ? null : g.Weight("s", s.Type, [.. s.Shape]);
        g.Output(g.GroupedGemm("gemm", rows, wv, sv, offsets));
        var tensors = new List<(string, HostTensor)>
        {
            ("rows", F32(r.Floats(n * din), n, din)), ("offsets", I32(dispatch.Offsets, e + 1)), ("w", w),
        };
        if (s is not null)
        {
            tensors.Add(("s", s));
        }

        return Data(g, [.. tensors]);
    }

    private static CaseData SharedExpert(DType type, DType? scale, int t, int d, int inner, float? limit, DType? gateType)
    {
        var r = new TestRng(t * 11 + d + inner + (int)type);
        var g = new GraphBuilder();
        var x = g.Input("x", DType.F32, t, d);
        var tensors = new List<(string, HostTensor)> { ("x", F32(r.Floats(t * d, -2, 2), t, d)) };
        ProjectionWeights Projection(string name, long o, long i)
        {
            var (w, s) = MakeWeight(r, type, scale, 1, o, i, stacked: false);
            tensors.Add((name, w));
            var wv = g.Weight(name, type, o, i);
            if (s is null)
            {
                return new ProjectionWeights(wv);
            }

            tensors.Add((name + ".scale", s));
            return new ProjectionWeights(wv, g.Weight(name + ".scale", s.Type, [.. s.Shape]));
        }

        var gate = Projection("w1", inner, d);
        var up = Projection("w3", inner, d);
        var down = Projection("w2", d, inner);
        Value? expertGate = null;
        if (gateType is DType gt)
        {
            expertGate = g.Weight("gate", gt, 1, d);
            tensors.Add(("gate", r.FloatWeight(gt, 1, d)));
        }

        g.Output(g.SharedExpert("shared", x, gate, up, down, limit, expertGate));
        return Data(g, [.. tensors]);
    }
}
