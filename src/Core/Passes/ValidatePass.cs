using Accel.Errors;
using Accel.Graph;
using G = Accel.Graph.Graph;

namespace Accel.Passes;

/// <summary>
/// Checks a graph: ids and names, topological order, every node's inputs against its op's rules,
/// stored output shapes against inferred ones, and the cross-node rules of the MoE composites
/// (K within the kept groups, matching segment alignments).
/// </summary>
public sealed class ValidatePass : IGraphPass
{
    /// <inheritdoc/>
    public string Name => "validate";

    /// <inheritdoc/>
    public G Run(G graph)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Values.Length; i++)
        {
            var v = graph.Values[i];
            Require(v.Id == i, v.Name, $"has id {v.Id} but sits at position {i}.");
            Require(names.Add(v.Name), v.Name, "the name is used twice.");
        }

        var defined = new bool[graph.Values.Length];
        foreach (var v in graph.Values)
        {
            defined[v.Id] = v.Role != ValueRole.Computed;
        }

        for (int n = 0; n < graph.Nodes.Length; n++)
        {
            var node = graph.Nodes[n];
            Require(node.Id == n, node.Name, $"has id {node.Id} but sits at position {n}.");
            foreach (int i in node.Inputs.Where(i => i >= 0))
            {
                Require(i < defined.Length, node.Name, $"refers to value id {i}, which does not exist.");
                Require(defined[i], node.Name, $"reads '{graph.Values[i].Name}' before any node produces it.");
            }

            var inputs = node.Inputs.Select(i => i < 0 ? null : graph.Values[i]).ToArray();
            var outs = OpSignatures.Infer(node, inputs);
            Require(outs.Count == node.Outputs.Length, node.Name, $"has {node.Outputs.Length} outputs but {node.Kind} makes {outs.Count}.");
            for (int o = 0; o < outs.Count; o++)
            {
                var v = graph.Values[node.Outputs[o]];
                Require(v.Role == ValueRole.Computed, node.Name, $"writes '{v.Name}', which is a graph {v.Role}.");
                Require(!defined[v.Id], node.Name, $"writes '{v.Name}', which another node already produces.");
                Require(v.Type == outs[o].Type && v.Shape.Equals(outs[o].Shape), node.Name,
                    $"output '{v.Name}' is stored as {v.Type.ToString().ToLowerInvariant()}{v.Shape} but the op makes {outs[o].Type.ToString().ToLowerInvariant()}{outs[o].Shape}; run the infer-shapes pass.");
                defined[v.Id] = true;
            }

            CheckComposite(graph, node);
        }

        Require(graph.Outputs.Length > 0, "(graph)", "no output is marked.");
        foreach (int o in graph.Outputs)
        {
            Require(o >= 0 && o < defined.Length && defined[o], "(graph)", $"output id {o} is never produced.");
        }

        return graph;
    }

    private static void CheckComposite(G graph, OpNode node)
    {
        switch (node.Kind)
        {
            case OpKind.TopK when graph.Producers[node.Inputs[0]] is int p && p >= 0
                && graph.Nodes[p].Attributes is GroupLimitAttributes gl:
                {
                    long experts = graph.Values[node.Inputs[0]].Shape[1].Constant;
                    long reachable = gl.TopGroups * (experts / gl.Groups);
                    int k = ((TopKAttributes)node.Attributes).K;
                    Require(k <= reachable, node.Name,
                        $"K = {k} exceeds the {reachable} experts in the {gl.TopGroups} kept groups (of {gl.Groups}); raise top-k groups or lower K.");
                    break;
                }

            case OpKind.BuildPermutation when graph.Producers[node.Inputs[1]] is int p && p >= 0
                && graph.Nodes[p].Attributes is SegmentAttributes scan:
                {
                    var mine = (SegmentAttributes)node.Attributes;
                    Require(mine == scan, node.Name,
                        $"uses experts/alignment {mine.Experts}/{mine.Alignment} but its offsets were scanned with {scan.Experts}/{scan.Alignment}.");
                    break;
                }
        }
    }

    private static void Require(bool condition, string node, string problem)
    {
        if (!condition)
        {
            throw new GraphValidationException(node, problem);
        }
    }
}
