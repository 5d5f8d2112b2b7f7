using System.Collections.Immutable;
using Accel.Backends;
using Accel.Graph;
using Accel.Types;

namespace Accel.Execution;

/// <summary>Where a node runs and why.</summary>
/// <param name="Node">The node.</param>
/// <param name="Backend">Index into the session's backend chain.</param>
/// <param name="DeviceId">The device id of that backend.</param>
/// <param name="Reason">Why it was placed there (empty on the first choice).</param>
public sealed record NodePlacement(OpNode Node, int Backend, string DeviceId, string Reason)
{
    /// <summary>True when the node did not get the first backend of the chain.</summary>
    public bool IsFallback => Backend > 0;

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Node.Name,-24} {Node.Kind,-18} -> {DeviceId}{(IsFallback ? $"  (fallback: {Reason})" : "")}";
}

/// <summary>One step of a plan.</summary>
public abstract record PlanStep;

/// <summary>Run a node on a backend of the chain.</summary>
/// <param name="Node">The node.</param>
/// <param name="Backend">Index into the backend chain.</param>
public sealed record ExecuteStep(OpNode Node, int Backend) : PlanStep
{
    /// <inheritdoc/>
    public override string ToString() => $"execute {Node.Name} on #{Backend}";
}

/// <summary>Copy a value from one backend to another (through host memory).</summary>
/// <param name="ValueId">The value.</param>
/// <param name="From">Source backend index.</param>
/// <param name="To">Destination backend index.</param>
public sealed record TransferStep(int ValueId, int From, int To) : PlanStep
{
    /// <inheritdoc/>
    public override string ToString() => $"transfer value {ValueId} #{From} -> #{To}";
}

/// <summary>A graph lowered for one token count: concrete value descriptors and ordered steps.</summary>
/// <param name="Graph">The graph.</param>
/// <param name="Tokens">The token count T the shapes are resolved for.</param>
/// <param name="Values">Concrete descriptor of every value, by id.</param>
/// <param name="Steps">Execute and transfer steps in order.</param>
/// <param name="Placements">Where each node runs.</param>
public sealed record ExecutionPlan(Graph.Graph Graph, long Tokens, ImmutableArray<TensorDesc> Values,
    ImmutableArray<PlanStep> Steps, ImmutableArray<NodePlacement> Placements)
{
    /// <summary>Bytes of all computed values (an upper bound of a plan's activation memory).</summary>
    public long ActivationBytes =>
        Values.Where((v, i) => Graph.Values[i].Role == ValueRole.Computed).Sum(v => v.ByteSize);
}
