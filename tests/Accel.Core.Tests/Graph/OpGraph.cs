using Accel.Backends.Reference;
using Accel.Execution;
using Accel.Graph;
using Accel.Types;

namespace Accel.Core.Tests.Graph;

/// <summary>
/// A one-op (or few-op) graph run through a <see cref="GraphSession"/> on the reference backend:
/// inputs and weights are declared with their data, outputs come back as host tensors.
/// </summary>
internal sealed class OpGraph
{
    private readonly Dictionary<string, HostTensor> _inputs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HostTensor> _weights = new(StringComparer.Ordinal);

    public GraphBuilder B { get; } = new();

    /// <summary>A per-run input; its first axis is the symbolic token count T unless <paramref name="tokenAxis"/> is false.</summary>
    public Value Input(string name, HostTensor data, bool tokenAxis = true)
    {
        _inputs[name] = data;
        var dims = data.Shape.Select((d, i) => i == 0 && tokenAxis ? Dim.Tokens : Dim.Of(d)).ToArray();
        return B.Input(name, data.Type, dims);
    }

    /// <summary>A weight fed once.</summary>
    public Value Weight(string name, HostTensor data)
    {
        _weights[name] = data;
        return B.Weight(name, data.Type, [.. data.Shape]);
    }

    /// <summary>Marks <paramref name="outputs"/>, runs the graph and returns them in order.</summary>
    public HostTensor[] Run(params Value[] outputs)
    {
        foreach (var o in outputs) { B.Output(o); }
        using var backend = new ReferenceBackend();
        using var session = new GraphSession(B.Build(), [backend], _weights);
        var result = session.Run(_inputs);
        return [.. outputs.Select(o => result[o.Name])];
    }

    /// <summary>Runs and returns the single output.</summary>
    public HostTensor Run1(Value output) => Run(output)[0];

    public static HostTensor F(long[] shape, params float[] v) => HostTensor.FromF32(new Shape(shape), v);

    public static HostTensor I(long[] shape, params int[] v) => HostTensor.FromI32(new Shape(shape), v);

    public static float[] Floats(HostTensor t) => t.AsSpan<float>().ToArray();

    public static int[] Ints(HostTensor t) => t.AsSpan<int>().ToArray();

    public static double Silu(double z) => z / (1 + Math.Exp(-z));
}
