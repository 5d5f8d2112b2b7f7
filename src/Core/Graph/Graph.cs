using System.Collections.Immutable;
using Accel.Types;

namespace Accel.Graph;

/// <summary>Where a value comes from.</summary>
public enum ValueRole
{
    /// <summary>Fed on every run (activations, token ids).</summary>
    Input,
    /// <summary>Fed once when a session is created (weights, tables).</summary>
    Weight,
    /// <summary>Produced by a node.</summary>
    Computed,
}

/// <summary>A tensor value of a graph.</summary>
/// <param name="Id">Index in <see cref="Graph.Values"/>.</param>
/// <param name="Name">Unique name.</param>
/// <param name="Type">Element type.</param>
/// <param name="Shape">Shape, possibly in terms of the token count T.</param>
/// <param name="Role">Input, weight or computed.</param>
public sealed record Value(int Id, string Name, DType Type, SymbolicShape Shape, ValueRole Role)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Type.ShortName()}{Shape}";
}

/// <summary>An op applied to values. Absent optional inputs are <see cref="Graph.None"/> (-1).</summary>
/// <param name="Id">Index in <see cref="Graph.Nodes"/> (topological order).</param>
/// <param name="Name">Unique name, used in every message about the node.</param>
/// <param name="Kind">The op.</param>
/// <param name="Inputs">Value ids by position; -1 for an absent optional input.</param>
/// <param name="Outputs">Value ids produced.</param>
/// <param name="Attributes">Op attributes.</param>
public sealed record OpNode(int Id, string Name, OpKind Kind, ImmutableArray<int> Inputs,
    ImmutableArray<int> Outputs, OpAttributes Attributes)
{
    /// <summary>True when input <paramref name="position"/> is present.</summary>
    public bool HasInput(int position) => position < Inputs.Length && Inputs[position] >= 0;

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({Kind}{(Attributes is NoAttributes ? "" : " " + Attributes)})";
}

/// <summary>
/// An immutable DAG of op nodes over values. Nodes are stored in a topological order; graph
/// inputs and weights are values with no producer. Build one with <see cref="GraphBuilder"/>.
/// </summary>
public sealed class Graph
{
    /// <summary>Marks an absent optional input.</summary>
    public const int None = -1;

    /// <summary>Creates a graph; call <see cref="Passes.ValidatePass"/> to check it.</summary>
    public Graph(ImmutableArray<Value> values, ImmutableArray<OpNode> nodes, ImmutableArray<int> outputs)
    {
        Values = values;
        Nodes = nodes;
        Outputs = outputs;
        var producers = new int[values.Length];
        Array.Fill(producers, None);
        foreach (var node in nodes)
        {
            foreach (int o in node.Outputs)
            {
                producers[o] = node.Id;
            }
        }

        Producers = [.. producers];
    }

    /// <summary>Every value, indexed by id.</summary>
    public ImmutableArray<Value> Values { get; }

    /// <summary>Every node, in topological order.</summary>
    public ImmutableArray<OpNode> Nodes { get; }

    /// <summary>Ids of the values returned by a run.</summary>
    public ImmutableArray<int> Outputs { get; }

    /// <summary>The producing node of each value, or <see cref="None"/>.</summary>
    public ImmutableArray<int> Producers { get; }

    /// <summary>Values fed on every run.</summary>
    public IEnumerable<Value> Inputs => Values.Where(v => v.Role == ValueRole.Input);

    /// <summary>Values fed once per session.</summary>
    public IEnumerable<Value> Weights => Values.Where(v => v.Role == ValueRole.Weight);

    /// <summary>The value named <paramref name="name"/>.</summary>
    public Value this[string name] => Values.FirstOrDefault(v => v.Name == name)
        ?? throw new KeyNotFoundException($"The graph has no value named '{name}'.");

    /// <summary>The input value at <paramref name="position"/> of <paramref name="node"/>, or null if absent.</summary>
    public Value? InputOf(OpNode node, int position) =>
        node.HasInput(position) ? Values[node.Inputs[position]] : null;

    /// <summary>A readable listing, one node per line (for debugging and <c>--explain</c>).</summary>
    public string Dump()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var v in Values.Where(v => v.Role != ValueRole.Computed))
        {
            sb.AppendLine($"{v.Role.ToString().ToLowerInvariant(),-8} {v}");
        }

        foreach (var n in Nodes)
        {
            string ins = string.Join(", ", n.Inputs.Select(i => i < 0 ? "-" : Values[i].Name));
            string outs = string.Join(", ", n.Outputs.Select(o => Values[o].ToString()));
            sb.AppendLine($"{n.Name} = {n.Kind}({ins}) {n.Attributes} -> {outs}");
        }

        return sb.ToString();
    }
}
