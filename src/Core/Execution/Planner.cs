using System.Collections.Immutable;
using Accel.Backends;
using Accel.Errors;
using Accel.Graph;
using Accel.Types;
using Microsoft.Extensions.Logging;

namespace Accel.Execution;

/// <summary>
/// Assigns every node to the first backend of a chain that supports it and lowers a graph to an
/// <see cref="ExecutionPlan"/> for a token count, inserting the transfers a fallback needs.
/// Fallback is never silent: each one is logged, and in strict mode it is an error.
/// </summary>
public static class Planner
{
    /// <summary>Places every node of <paramref name="graph"/> on the chain.</summary>
    public static ImmutableArray<NodePlacement> Place(Graph.Graph graph, IReadOnlyList<IBackend> chain, bool strict, ILogger? logger = null)
    {
        if (chain.Count == 0)
        {
            throw new ArgumentException("The backend chain is empty; add at least the reference backend.", nameof(chain));
        }

        var result = ImmutableArray.CreateBuilder<NodePlacement>(graph.Nodes.Length);
        foreach (var node in graph.Nodes)
        {
            var reasons = new List<string>();
            int chosen = -1;
            for (int b = 0; b < chain.Count && chosen < 0; b++)
            {
                var s = chain[b].Supports(node, graph);
                if (s.IsSupported)
                {
                    chosen = b;
                }
                else
                {
                    reasons.Add($"{chain[b].Device.Id}: {s.Reason}");
                }
            }

            if (chosen < 0)
            {
                throw new BackendException(chain[0].Device.Backend,
                    $"No backend in the chain runs node '{node.Name}' ({node.Kind}): {string.Join("; ", reasons)}. " +
                    "Add the reference backend to the fallback chain.");
            }

            string reason = string.Join("; ", reasons);
            if (chosen > 0 && strict)
            {
                throw new BackendException(chain[0].Device.Backend,
                    $"Strict mode: node '{node.Name}' ({node.Kind}) cannot run on {chain[0].Device.Id} ({reason}) and would " +
                    $"fall back to {chain[chosen].Device.Id}. Turn strict mode off to allow the fallback, or choose another device.");
            }

            if (chosen > 0)
            {
                logger?.LogWarning("Node {Node} ({Op}) falls back to {Device}: {Reason}", node.Name, node.Kind, chain[chosen].Device.Id, reason);
            }
            else
            {
                logger?.LogDebug("Node {Node} ({Op}) runs on {Device}", node.Name, node.Kind, chain[0].Device.Id);
            }

            result.Add(new NodePlacement(node, chosen, chain[chosen].Device.Id, reason));
        }

        return result.MoveToImmutable();
    }

    /// <summary>
    /// Runs the preferred passes of the chain's first backend over <paramref name="graph"/> (e.g. the
    /// segment alignment of a kernel backend); each is logged by name.
    /// </summary>
    public static Graph.Graph ApplyPreferredPasses(Graph.Graph graph, IReadOnlyList<IBackend> chain, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(chain);
        if (chain.Count == 0)
        {
            return graph;
        }

        foreach (var pass in chain[0].PreferredPasses)
        {
            logger?.LogDebug("Pass {Pass} preferred by {Device}", pass.Name, chain[0].Device.Id);
            graph = pass.Run(graph);
        }

        return graph;
    }

    /// <summary>Lets every backend of the chain prepare the nodes placed on it, in execution order.</summary>
    public static void Prepare(Graph.Graph graph, IReadOnlyList<IBackend> chain, ImmutableArray<NodePlacement> placements)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(chain);
        for (int b = 0; b < chain.Count; b++)
        {
            var nodes = placements.Where(p => p.Backend == b).Select(p => p.Node).ToList();
            if (nodes.Count > 0)
            {
                chain[b].Prepare(graph, nodes);
            }
        }
    }

    /// <summary>Lowers the graph for <paramref name="tokens"/> tokens with the given placements.</summary>
    public static ExecutionPlan Plan(Graph.Graph graph, long tokens, ImmutableArray<NodePlacement> placements)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        var values = graph.Values.Select(v => new TensorDesc(v.Name, v.Type, v.Shape.Resolve(tokens))).ToImmutableArray();
        var location = new Dictionary<int, HashSet<int>>();
        var producerBackend = new Dictionary<int, int>();
        var steps = ImmutableArray.CreateBuilder<PlanStep>();
        foreach (var p in placements)
        {
            foreach (int input in p.Node.Inputs.Where(i => i >= 0))
            {
                if (producerBackend.TryGetValue(input, out int from) && !location[input].Contains(p.Backend))
                {
                    steps.Add(new TransferStep(input, from, p.Backend));
                    location[input].Add(p.Backend);
                }
            }

            steps.Add(new ExecuteStep(p.Node, p.Backend));
            foreach (int o in p.Node.Outputs)
            {
                producerBackend[o] = p.Backend;
                location[o] = [p.Backend];
            }
        }

        return new ExecutionPlan(graph, tokens, values, steps.ToImmutable(), placements);
    }
}
