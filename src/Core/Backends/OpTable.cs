using System.Collections.Immutable;
using Accel.Graph;

namespace Accel.Backends;

/// <summary>Whether a backend runs one node whose op it implements (dtype, attribute or size limits).</summary>
/// <param name="node">The node.</param>
/// <param name="graph">The graph it belongs to (for input dtypes and shapes).</param>
/// <returns>Supported, or not with the reason.</returns>
public delegate OpSupport OpCheck(OpNode node, Graph.Graph graph);

/// <summary>
/// The ops a backend implements, each with the check of what it accepts. An op without an entry is
/// not supported, so the planner puts it on the next backend of the chain: a new op never plans onto
/// a backend that has no code for it. Immutable; built with <see cref="With(OpKind, OpCheck?)"/>.
/// </summary>
public sealed class OpTable
{
    private readonly ImmutableDictionary<OpKind, OpCheck?> _entries;

    private OpTable(string backend, ImmutableDictionary<OpKind, OpCheck?> entries)
    {
        Backend = backend;
        _entries = entries;
    }

    /// <summary>The backend's name, for reasons.</summary>
    public string Backend { get; }

    /// <summary>The ops with an entry, in op-set order.</summary>
    public IReadOnlyList<OpKind> Kinds => [.. _entries.Keys.Order()];

    /// <summary>An empty table of <paramref name="backend"/>.</summary>
    public static OpTable For(string backend) => new(backend, ImmutableDictionary<OpKind, OpCheck?>.Empty);

    /// <summary>This table with <paramref name="kind"/> implemented; <paramref name="check"/> null means every node of it runs.</summary>
    public OpTable With(OpKind kind, OpCheck? check = null) => new(Backend, _entries.SetItem(kind, check));

    /// <summary>This table with every op of <paramref name="kinds"/> implemented without further checks.</summary>
    public OpTable With(params IEnumerable<OpKind> kinds) =>
        new(Backend, _entries.SetItems(kinds.Select(k => KeyValuePair.Create(k, (OpCheck?)null))));

    /// <summary>True when <paramref name="kind"/> has an entry.</summary>
    public bool Implements(OpKind kind) => _entries.ContainsKey(kind);

    /// <summary>Whether <paramref name="node"/> runs: no entry is "not supported", else the entry's check.</summary>
    public OpSupport Supports(OpNode node, Graph.Graph graph)
    {
        ArgumentNullException.ThrowIfNull(node);
        if (!_entries.TryGetValue(node.Kind, out var check))
        {
            return OpSupport.No($"{Backend} has no implementation of {node.Kind}.");
        }

        return check?.Invoke(node, graph) ?? OpSupport.Yes;
    }
}
