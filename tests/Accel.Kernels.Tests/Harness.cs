using Accel.Backends;
using Accel.Backends.Ilgpu;
using Accel.Backends.Reference;
using Accel.Execution;
using Accel.Graph;
using Accel.Types;
using NUnit.Framework;

namespace Accel.Kernels.Tests;

/// <summary>Opens the backends once for the whole assembly (ILGPU contexts are costly to create).</summary>
[SetUpFixture]
public sealed class Backends
{
    /// <summary>ilgpu-cpu with the default small geometry (4 x 4 x 1: 16 threads per group).</summary>
    public static IlgpuBackend Cpu { get; private set; } = null!;

    /// <summary>The oracle.</summary>
    public static ReferenceBackend Reference { get; private set; } = null!;

    [OneTimeSetUp]
    public void Open()
    {
        Cpu = IlgpuBackend.CreateCpu();
        Reference = new ReferenceBackend();
    }

    [OneTimeTearDown]
    public void Close()
    {
        Cpu.Dispose();
        Reference.Dispose();
    }
}

/// <summary>A graph with its weights and inputs; built lazily so discovery stays cheap.</summary>
public sealed record OpCase(string Name, Func<CaseData> Build)
{
    /// <inheritdoc/>
    public override string ToString() => Name;

    /// <summary>As an NUnit case named after the case.</summary>
    public TestCaseData ToTestCase() => new TestCaseData(this).SetArgDisplayNames(Name);
}

/// <summary>What a case runs.</summary>
public sealed record CaseData(Graph.Graph Graph, Dictionary<string, HostTensor> Weights, Dictionary<string, HostTensor> Inputs);

/// <summary>Runs a case on the reference and on an ILGPU backend and compares every output.</summary>
public static class Conformance
{
    /// <summary>Norm-wise relative error allowed for fp32 outputs.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>Byte pattern written into output buffers before a node runs, to catch rows it leaves unwritten.</summary>
    public const byte Poison = 0x5A;

    public static void Check(OpCase c, IBackend? backend = null)
    {
        var data = c.Build();
        var expected = RunSession(data, Backends.Reference);
        var actual = RunPoisoned(data, backend ?? Backends.Cpu);
        foreach (var (name, e) in expected)
        {
            Compare(name, e, actual[name]);
        }
    }

    /// <summary>
    /// Runs through a <see cref="GraphSession"/> (strict: every node on the first backend; the graph as
    /// given, without the backend's preferred passes, so intermediate values compare one to one).
    /// </summary>
    public static IReadOnlyDictionary<string, HostTensor> RunSession(CaseData data, IBackend backend)
    {
        using var session = new GraphSession(data.Graph, [backend], data.Weights, new SessionOptions(Strict: true, PreferredPasses: false));
        return session.Run(data.Inputs);
    }

    /// <summary>
    /// Executes the nodes one by one on <paramref name="backend"/>, every output buffer filled with
    /// <see cref="Poison"/> first, so an op that does not write its whole output fails the comparison.
    /// Shapes must be fixed (no token-dependent dimensions).
    /// </summary>
    public static Dictionary<string, HostTensor> RunPoisoned(CaseData data, IBackend backend)
    {
        var graph = data.Graph;
        var buffers = new Dictionary<int, IDeviceBuffer>();
        try
        {
            foreach (var v in graph.Values)
            {
                var desc = new TensorDesc(v.Name, v.Type, v.Shape.Resolve(0));
                var buffer = backend.Allocate(desc);
                buffers[v.Id] = buffer;
                var host = v.Role switch
                {
                    ValueRole.Weight => data.Weights[v.Name].ReadOnlyBytes.ToArray(),
                    ValueRole.Input => data.Inputs[v.Name].ReadOnlyBytes.ToArray(),
                    _ => Enumerable.Repeat(Poison, (int)desc.ByteSize).ToArray(),
                };
                backend.Upload(buffer, host);
            }

            foreach (var node in graph.Nodes)
            {
                var inputs = node.Inputs.Select(i => i < 0 ? null : buffers[i]).ToArray();
                var outputs = node.Outputs.Select(o => buffers[o]).ToArray();
                Assert.That(backend.Supports(node, graph).IsSupported, Is.True, $"{backend.Device.Id} should support {node}");
                backend.Execute(node, inputs, outputs);
            }

            backend.Synchronize();
            var result = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
            foreach (int o in graph.Outputs)
            {
                var v = graph.Values[o];
                var host = HostTensor.Zeros(v.Type, v.Shape.Resolve(0));
                backend.Download(buffers[o], host.Bytes);
                result[v.Name] = host;
            }

            return result;
        }
        finally
        {
            foreach (var b in buffers.Values)
            {
                b.Dispose();
            }
        }
    }

    /// <summary>Integer outputs must be equal; float outputs within <see cref="Tolerance"/> (norm-wise).</summary>
    public static void Compare(string name, HostTensor expected, HostTensor actual)
    {
        Assert.That(actual.Type, Is.EqualTo(expected.Type), $"dtype of {name}");
        Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"shape of {name}");
        if (expected.Type.IsInteger())
        {
            Assert.That(actual.ToI32(), Is.EqualTo(expected.ToI32()), $"values of {name}");
            return;
        }

        double error = RelativeError(expected.ToF32(), actual.ToF32());
        Assert.That(error, Is.LessThanOrEqualTo(Tolerance), $"norm-wise relative error of {name}");
    }

    /// <summary>
    /// ||a - e|| / ||e|| over the finite expected values (the absolute norm when ||e|| = 0); infinite if a
    /// NaN or infinity of either side is not matched exactly by the other.
    /// </summary>
    public static double RelativeError(float[] expected, float[] actual)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            if (!float.IsFinite(e) || !float.IsFinite(a))
            {
                bool same = (float.IsNaN(e) && float.IsNaN(a)) || e.Equals(a);
                if (!same)
                {
                    return double.PositiveInfinity;
                }

                continue;
            }

            diff += ((double)a - e) * ((double)a - e);
            norm += (double)e * e;
        }

        return norm == 0 ? Math.Sqrt(diff) : Math.Sqrt(diff / norm);
    }
}
