using Accel.Graph;
using G = Accel.Graph.Graph;

namespace Accel.Passes;

/// <summary>
/// Sets the expert-segment alignment of every ExclusiveScan and BuildPermutation node (e.g. to a
/// device's GEMM tile height, so each tile belongs to one expert) and re-infers the shapes.
/// The layer's result does not change: padding rows are zero and never combined.
/// </summary>
/// <param name="alignment">Rows each expert segment is padded to a multiple of.</param>
public sealed class SegmentAlignmentPass(int alignment) : IGraphPass
{
    /// <inheritdoc/>
    public string Name => $"segment-alignment({alignment})";

    /// <inheritdoc/>
    public G Run(G graph)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(alignment, 1);
        var nodes = graph.Nodes.Select(n => n.Attributes is SegmentAttributes s
            ? n with { Attributes = s with { Alignment = alignment } }
            : n).ToArray();
        return new InferShapesPass().Run(new G(graph.Values, [.. nodes], graph.Outputs));
    }
}
