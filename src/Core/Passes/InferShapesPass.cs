using Accel.Graph;
using G = Accel.Graph.Graph;

namespace Accel.Passes;

/// <summary>
/// Recomputes every computed value's dtype and shape from its node, in node order. Used after a
/// pass changed attributes (e.g. the segment alignment) so that downstream shapes follow.
/// </summary>
public sealed class InferShapesPass : IGraphPass
{
    /// <inheritdoc/>
    public string Name => "infer-shapes";

    /// <inheritdoc/>
    public G Run(G graph)
    {
        var values = graph.Values.ToArray();
        foreach (var node in graph.Nodes)
        {
            var inputs = node.Inputs.Select(i => i < 0 ? null : values[i]).ToArray();
            var outs = OpSignatures.Infer(node, inputs);
            for (int i = 0; i < outs.Count; i++)
            {
                var v = values[node.Outputs[i]];
                values[node.Outputs[i]] = v with { Type = outs[i].Type, Shape = outs[i].Shape };
            }
        }

        return new G([.. values], graph.Nodes, graph.Outputs);
    }
}
