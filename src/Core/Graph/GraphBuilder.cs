using System.Collections.Immutable;
using Accel.Errors;
using Accel.Types;

namespace Accel.Graph;

/// <summary>
/// Builds a <see cref="Graph"/> node by node. Every node's output dtypes and shapes are inferred
/// (and its inputs checked) as it is added, so a wrong graph fails at the node that is wrong.
/// </summary>
public sealed partial class GraphBuilder
{
    private readonly List<Value> _values = [];
    private readonly List<OpNode> _nodes = [];
    private readonly List<int> _outputs = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>Declares a per-run input.</summary>
    public Value Input(string name, DType type, params Dim[] dims) =>
        NewValue(name, type, new SymbolicShape(dims), ValueRole.Input);

    /// <summary>Declares a weight fed once per session.</summary>
    public Value Weight(string name, DType type, params long[] dims) =>
        NewValue(name, type, SymbolicShape.From(new Shape(dims)), ValueRole.Weight);

    /// <summary>Marks <paramref name="value"/> as a graph output.</summary>
    public GraphBuilder Output(Value value)
    {
        if (!_outputs.Contains(value.Id))
        {
            _outputs.Add(value.Id);
        }

        return this;
    }

    /// <summary>
    /// Adds a node of any kind. <paramref name="inputs"/> holds one entry per input position, null
    /// for an absent optional input. Returns the new output values.
    /// </summary>
    public IReadOnlyList<Value> Add(OpKind kind, string name, OpAttributes attributes, params Value?[] inputs)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        if (_names.Contains(name))
        {
            throw new GraphValidationException(name, "a node or value with this name already exists; choose a unique name.");
        }

        foreach (var v in inputs)
        {
            if (v is not null && (v.Id >= _values.Count || !ReferenceEquals(_values[v.Id], v)))
            {
                throw new GraphValidationException(name, $"input {v.Name} does not belong to this graph builder.");
            }
        }

        var node = new OpNode(_nodes.Count, name, kind, [.. inputs.Select(v => v?.Id ?? Graph.None)], [], attributes);
        var outs = OpSignatures.Infer(node, inputs);
        string[] outNames = OutputNames(kind, outs.Count);
        var created = new List<Value>(outs.Count);
        _names.Add(name);
        for (int i = 0; i < outs.Count; i++)
        {
            string valueName = outNames.Length == 1 ? name : $"{name}.{outNames[i]}";
            created.Add(NewValue(valueName, outs[i].Type, outs[i].Shape, ValueRole.Computed, allowNodeName: i == 0 && outNames.Length == 1));
        }

        _nodes.Add(node with { Outputs = [.. created.Select(v => v.Id)] });
        return created;
    }

    /// <summary>Finishes the graph; at least one output must be marked.</summary>
    public Graph Build()
    {
        if (_outputs.Count == 0)
        {
            throw new GraphValidationException("(graph)", "no output is marked; call Output(value) for each result.");
        }

        return new Graph([.. _values], [.. _nodes], [.. _outputs]);
    }

    /// <summary>Names of an op's outputs.</summary>
    public static string[] OutputNames(OpKind kind, int count) => kind switch
    {
        OpKind.BuildPermutation => ["pos_to_token", "pos_to_slot", "token_slot_to_pos"],
        OpKind.ActQuantFp8 => ["q", "scale"],
        _ => count == 1 ? ["out"] : [.. Enumerable.Range(0, count).Select(i => $"out{i}")],
    };

    private Value NewValue(string name, DType type, SymbolicShape shape, ValueRole role, bool allowNodeName = false)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new GraphValidationException("(unnamed)", "every value needs a non-empty name.");
        }

        if (!allowNodeName && !_names.Add(name))
        {
            throw new GraphValidationException(name, "a node or value with this name already exists; choose a unique name.");
        }

        var v = new Value(_values.Count, name, type, shape, role);
        _values.Add(v);
        return v;
    }
}
