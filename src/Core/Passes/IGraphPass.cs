namespace Accel.Passes;

/// <summary>A named graph-to-graph step; a pass that only checks returns its input.</summary>
public interface IGraphPass
{
    /// <summary>Name used in logs and dumps.</summary>
    string Name { get; }

    /// <summary>Runs the pass.</summary>
    Graph.Graph Run(Graph.Graph graph);
}
