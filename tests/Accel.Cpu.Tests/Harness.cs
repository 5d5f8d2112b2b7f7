using Accel.Backends;
using Accel.Backends.Cpu;
using Accel.Backends.Reference;
using Accel.Execution;
using Accel.Moe;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>Runs graphs on the CPU backend (strictly, no fallback) and on the reference backend, and compares.</summary>
internal static class Harness
{
    /// <summary>Norm-wise relative error allowed for fp32 outputs.</summary>
    public const double Tolerance = 1e-5;

    public static (IReadOnlyDictionary<string, HostTensor> Cpu, IReadOnlyDictionary<string, HostTensor> Reference) RunBoth(
        Graph.Graph graph, IReadOnlyDictionary<string, HostTensor> weights, IReadOnlyDictionary<string, HostTensor> inputs,
        CpuBackendOptions? options = null)
    {
        using var cpu = new CpuBackend(options ?? new CpuBackendOptions(Threads: 2));
        using var reference = new ReferenceBackend();
        using var cpuSession = new GraphSession(graph, [cpu], weights, new SessionOptions(Strict: true));
        using var refSession = new GraphSession(graph, [reference], weights);
        return (cpuSession.Run(inputs), refSession.Run(inputs));
    }

    /// <summary>
    /// Runs <paramref name="graph"/> on the CPU backend (strictly) once per entry of <paramref name="runs"/>,
    /// in one session (so later runs reuse the buffers earlier ones wrote), and returns the last outputs.
    /// </summary>
    public static IReadOnlyDictionary<string, HostTensor> RunCpu(Graph.Graph graph, IReadOnlyDictionary<string, HostTensor> weights,
        CpuBackendOptions options, params IReadOnlyDictionary<string, HostTensor>[] runs)
    {
        using var cpu = new CpuBackend(options);
        using var session = new GraphSession(graph, [cpu], weights, new SessionOptions(Strict: true));
        IReadOnlyDictionary<string, HostTensor> last = new Dictionary<string, HostTensor>();
        foreach (var inputs in runs)
        {
            last = session.Run(inputs);
        }

        return last;
    }

    /// <summary>Runs <paramref name="graph"/> once on the reference backend.</summary>
    public static IReadOnlyDictionary<string, HostTensor> RunReference(Graph.Graph graph, IReadOnlyDictionary<string, HostTensor> weights,
        IReadOnlyDictionary<string, HostTensor> inputs)
    {
        using var reference = new ReferenceBackend();
        using var session = new GraphSession(graph, [reference], weights);
        return session.Run(inputs);
    }

    /// <summary>Asserts every output matches: integers exactly, floats within <paramref name="tolerance"/>.</summary>
    public static void AssertSame(IReadOnlyDictionary<string, HostTensor> actual, IReadOnlyDictionary<string, HostTensor> expected,
        double tolerance = Tolerance, string context = "")
    {
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            Assert.That(a.Shape, Is.EqualTo(e.Shape), $"{context} {name}: shape");
            Assert.That(a.Type, Is.EqualTo(e.Type), $"{context} {name}: dtype");
            if (e.Type is DType.F32)
            {
                double err = RelativeError(a.AsSpan<float>(), e.AsSpan<float>());
                Assert.That(err, Is.LessThan(tolerance), $"{context} {name}: norm-wise relative error");
            }
            else
            {
                Assert.That(a.ReadOnlyBytes.SequenceEqual(e.ReadOnlyBytes), Is.True, $"{context} {name}: bytes differ");
            }
        }
    }

    /// <summary>||a - b|| / ||b|| (0 when both are empty or zero; infinite-safe for equal infinities).</summary>
    public static double RelativeError(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] == b[i] || (float.IsNaN(a[i]) && float.IsNaN(b[i])))
            {
                den += Finite(b[i]);
                continue;
            }

            double d = (double)a[i] - b[i];
            num += d * d;
            den += Finite(b[i]);
        }

        // A NaN on one side only makes num NaN, which NUnit's LessThan would let through: report it as infinite.
        return double.IsNaN(num) ? double.PositiveInfinity : num == 0 ? 0 : Math.Sqrt(num / Math.Max(den, 1e-300));
    }

    private static double Finite(float v) => float.IsFinite(v) ? (double)v * v : 0;

    public static HostTensor Random(Shape shape, int seed, double scale = 1)
    {
        var rng = new Random(seed);
        var v = new float[shape.Elements];
        for (int i = 0; i < v.Length; i++) { v[i] = (float)((rng.NextDouble() * 2 - 1) * scale); }
        return HostTensor.FromF32(shape, v);
    }

    /// <summary>Random distinct expert ids [T, K]; <paramref name="skew"/> sends most rows to expert 0's group.</summary>
    public static HostTensor ExpertIds(int tokens, int k, int experts, int seed, bool skew = false)
    {
        var rng = new Random(seed);
        var ids = new int[tokens * k];
        var perm = Enumerable.Range(0, experts).ToArray();
        for (int t = 0; t < tokens; t++)
        {
            if (skew)
            {
                for (int j = 0; j < k; j++) { ids[t * k + j] = j; }
                continue;
            }

            rng.Shuffle(perm);
            perm.AsSpan(0, k).CopyTo(ids.AsSpan(t * k));
        }

        return HostTensor.FromI32(new Shape(tokens, k), ids);
    }

    /// <summary>A stacked weight [E, o, i] (and scale) in a test format, from seeded fp32 values.</summary>
    public static (HostTensor Weight, HostTensor? Scale) Weight(string format, int experts, int o, int i, int seed)
    {
        var f = Random(new Shape(experts, o, i), seed, 1.0 / Math.Sqrt(i)).AsSpan<float>().ToArray();
        int per = o * i;
        switch (format)
        {
            case "f32":
                return (HostTensor.FromF32(new Shape(experts, o, i), f), null);
            case "bf16" or "f16":
                {
                    var t = HostTensor.Zeros(format == "bf16" ? DType.BF16 : DType.F16, new Shape(experts, o, i));
                    var s = t.AsSpan<ushort>();
                    for (int k = 0; k < f.Length; k++)
                    {
                        s[k] = format == "bf16" ? NumericFormats.F32ToBF16(f[k]) : NumericFormats.F32ToF16(f[k]);
                    }

                    return (t, null);
                }

            case "fp8" or "fp8-e8":
                {
                    var parts = Enumerable.Range(0, experts)
                        .Select(e => Quantize.Fp8Blocks(f.AsSpan(e * per, per), o, i, powerOfTwoScales: format == "fp8-e8")).ToArray();
                    return (Stack(parts.Select(p => p.Weight), DType.F8E4M3, [experts, o, i]),
                        Stack(parts.Select(p => p.Scale), parts[0].Scale.Type, [experts, .. parts[0].Scale.Shape]));
                }

            case "fp4":
                {
                    var parts = Enumerable.Range(0, experts).Select(e => Quantize.Fp4Packed(f.AsSpan(e * per, per), o, i)).ToArray();
                    return (Stack(parts.Select(p => p.Weight), DType.F4E2M1, [experts, o, i]),
                        Stack(parts.Select(p => p.Scale), DType.UE8M0, [experts, .. parts[0].Scale.Shape]));
                }

            default:
                throw new ArgumentException(format);
        }
    }

    /// <summary>Drops the leading expert axis of a one-expert weight.</summary>
    public static HostTensor Single(HostTensor t) => new(t.Type, new Shape(t.Shape.Skip(1).ToArray()), t.Bytes.ToArray());

    private static HostTensor Stack(IEnumerable<HostTensor> parts, DType type, long[] shape) =>
        new(type, new Shape(shape), parts.SelectMany(p => p.ReadOnlyBytes.ToArray()).ToArray());
}
