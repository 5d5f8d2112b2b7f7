using System.Collections.Immutable;
using Accel.Backends;
using Accel.Errors;
using Accel.Graph;
using Accel.Passes;
using Accel.Types;
using Microsoft.Extensions.Logging;

namespace Accel.Execution;

/// <summary>Options of a <see cref="GraphSession"/>.</summary>
/// <param name="Strict">Refuse to plan when a node would fall back to a later backend.</param>
/// <param name="PlanCacheSize">How many token counts keep their plan and buffers between runs.</param>
/// <param name="PreferredPasses">
/// Apply the first backend's preferred passes (<see cref="Backends.IBackend.PreferredPasses"/>) before
/// placement (default); off runs the graph exactly as given, e.g. to test a chosen segment alignment.
/// </param>
public sealed record SessionOptions(bool Strict = false, int PlanCacheSize = 4, bool PreferredPasses = true);

/// <summary>
/// Runs a graph on a chain of backends: weights are uploaded once, each token count gets a plan
/// whose buffers are allocated once, and a run moves data only at its edges (and where a node
/// falls back to another backend). Runs are serialised, so a session is safe to share.
/// </summary>
public sealed partial class GraphSession : IDisposable
{
    private readonly IReadOnlyList<IBackend> _chain;
    private readonly ILogger? _logger;
    private readonly SessionOptions _options;
    private readonly Dictionary<(int Value, int Backend), IDeviceBuffer> _weights = [];
    private readonly Dictionary<long, PlanInstance> _plans = [];
    private readonly LinkedList<long> _lru = new();

    // The graph's inputs, listed once (runs check them without enumerating the graph's values).
    private readonly Value[] _inputs;
    private readonly Dictionary<string, HostTensor> _weightData;
    private readonly Lock _gate = new();
    private bool _disposed;

    /// <summary>
    /// Applies the first backend's preferred passes, validates the graph, places its nodes, lets each
    /// backend prepare the nodes placed on it, and uploads the weights each backend needs.
    /// </summary>
    /// <param name="graph">The graph.</param>
    /// <param name="chain">Backends in order of preference; the session does not own them.</param>
    /// <param name="weights">One host tensor per weight value, by name.</param>
    /// <param name="options">Options, or null for defaults.</param>
    /// <param name="logger">Receives placement and fallback messages.</param>
    public GraphSession(Graph.Graph graph, IReadOnlyList<IBackend> chain, IReadOnlyDictionary<string, HostTensor> weights,
        SessionOptions? options = null, ILogger? logger = null)
    {
        _chain = chain;
        _options = options ?? new SessionOptions();
        _logger = logger;
        Graph = new ValidatePass().Run(_options.PreferredPasses ? Planner.ApplyPreferredPasses(graph, chain, logger) : graph);
        _inputs = [.. Graph.Inputs];
        Placements = Planner.Place(Graph, chain, _options.Strict, logger);
        Planner.Prepare(Graph, chain, Placements);
        _weightData = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        foreach (var w in Graph.Weights)
        {
            if (!weights.TryGetValue(w.Name, out var data))
            {
                throw new InvalidInputException($"The weight '{w.Name}' ({w.Type.ShortName()}{w.Shape}) was not supplied.");
            }

            CheckTensor(w, data, 0, "weight");
            _weightData[w.Name] = data;
        }

        try
        {
            UploadWeights();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The validated graph.</summary>
    public Graph.Graph Graph { get; }

    /// <summary>Where every node runs.</summary>
    public ImmutableArray<NodePlacement> Placements { get; }

    /// <summary>The backend chain.</summary>
    public IReadOnlyList<IBackend> Backends => _chain;

    /// <summary>Runs the graph. Inputs by name; returns every graph output by name, in new tensors.</summary>
    public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => Execute(inputs, null);

    /// <summary>
    /// Runs the graph and writes every graph output into the caller's tensor of that name, which
    /// must have the output's dtype and shape for this token count (see <see cref="OutputShapes"/>).
    /// A caller that runs repeatedly keeps its output tensors, so a run allocates no output memory
    /// (large arrays cost a garbage collection and fresh pages every few runs).
    /// </summary>
    /// <exception cref="InvalidInputException">An output is missing or unknown, of the wrong dtype or shape, or one tensor is given for two outputs.</exception>
    public void RunInto(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyDictionary<string, HostTensor> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        Execute(inputs, outputs);
    }

    /// <summary>The dtype and shape of every graph output for a run of <paramref name="tokens"/> tokens, by name.</summary>
    public IReadOnlyDictionary<string, (DType Type, Shape Shape)> OutputShapes(long tokens) =>
        Graph.Outputs.Select(o => Graph.Values[o]).ToDictionary(v => v.Name, v => (v.Type, v.Shape.Resolve(tokens)), StringComparer.Ordinal);

    private IReadOnlyDictionary<string, HostTensor> Execute(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyDictionary<string, HostTensor>? into)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            long tokens = InferTokens(inputs);
            if (into is not null)
            {
                CheckOutputs(into, tokens);
            }

            var plan = GetPlan(tokens);
            try
            {
                return plan.Run(inputs, into);
            }
            catch
            {
                // A failed run leaves its buffers half written and its devices perhaps mid-work:
                // let the devices finish, then free every cached plan (the weights stay), so
                // nothing leaks and the next run starts from fresh buffers.
                SettleAfterFailure();
                DropPlans();
                throw;
            }
        }
    }

    /// <summary>The plan for a token count (built on first use).</summary>
    public ExecutionPlan PlanFor(long tokens)
    {
        lock (_gate)
        {
            return GetPlan(tokens).Plan;
        }
    }

    private long InferTokens(IReadOnlyDictionary<string, HostTensor> inputs)
    {
        long? tokens = null;
        foreach (var v in _inputs)
        {
            if (!inputs.TryGetValue(v.Name, out var data))
            {
                throw new InvalidInputException($"The input '{v.Name}' ({v.Type.ShortName()}{v.Shape}) was not supplied.");
            }

            for (int axis = 0; axis < v.Shape.Rank && axis < data.Shape.Rank; axis++)
            {
                var d = v.Shape[axis];
                if (d.PerToken != 0)
                {
                    long t = (data.Shape[axis] - d.Constant) / d.PerToken;
                    if (tokens is long known && known != t)
                    {
                        throw new InvalidInputException(
                            $"The input '{v.Name}' has {data.Shape[axis]} rows but other inputs imply {known} tokens; give every input the same token count.");
                    }

                    tokens = t;
                }
            }
        }

        long result = Math.Max(tokens ?? 0, 0);
        foreach (var v in _inputs)
        {
            CheckTensor(v, inputs[v.Name], result, "input");
        }

        return result;
    }

    private void CheckOutputs(IReadOnlyDictionary<string, HostTensor> into, long tokens)
    {
        for (int k = 0; k < Graph.Outputs.Length; k++)
        {
            int o = Graph.Outputs[k];
            var v = Graph.Values[o];
            if (!into.TryGetValue(v.Name, out var data) || data is null)
            {
                throw new InvalidInputException(
                    $"No tensor was given for the output '{v.Name}'; supply one of {v.Type.ShortName()}{v.Shape.Resolve(tokens)} for each name in OutputShapes({tokens}).");
            }

            CheckTensor(v, data, tokens, "output tensor");
            for (int j = 0; j < k; j++)
            {
                // Graphs have a few outputs: comparing with the earlier ones allocates nothing.
                if (ReferenceEquals(into[Graph.Values[Graph.Outputs[j]].Name], data))
                {
                    throw new InvalidInputException($"The tensor given for the output '{v.Name}' was given for another output too; give each output its own tensor.");
                }
            }
        }

        // Every output was found, so any further name is not an output.
        if (into.Count > Graph.Outputs.Length)
        {
            string unknown = into.Keys.First(n => Graph.Outputs.All(o => Graph.Values[o].Name != n));
            throw new InvalidInputException(
                $"'{unknown}' is not an output of this graph; its outputs are {string.Join(", ", Graph.Outputs.Select(o => Graph.Values[o].Name))}.");
        }
    }

    private static void CheckTensor(Value v, HostTensor data, long tokens, string what)
    {
        if (data.Type != v.Type || !v.Shape.IsResolvedAs(data.Shape, tokens))
        {
            throw new InvalidInputException(
                $"The {what} '{v.Name}' must be {v.Type.ShortName()}{v.Shape} (here {v.Type.ShortName()}{v.Shape.Resolve(tokens)}) but is {data}.");
        }
    }

    private void UploadWeights()
    {
        foreach (var p in Placements)
        {
            foreach (int i in p.Node.Inputs.Where(i => i >= 0 && Graph.Values[i].Role == ValueRole.Weight))
            {
                if (_weights.ContainsKey((i, p.Backend)))
                {
                    continue;
                }

                var v = Graph.Values[i];
                var data = _weightData[v.Name];
                var buffer = _chain[p.Backend].Allocate(new TensorDesc(v.Name, v.Type, data.Shape));
                _weights[(i, p.Backend)] = buffer;
                _chain[p.Backend].Upload(buffer, data.ReadOnlyBytes);
            }
        }
    }

    private PlanInstance GetPlan(long tokens)
    {
        if (_plans.TryGetValue(tokens, out var cached))
        {
            if (_lru.First!.Value != tokens)
            {
                // The node moves to the front; removing by value and adding anew would allocate a node per run.
                var node = _lru.Find(tokens)!;
                _lru.Remove(node);
                _lru.AddFirst(node);
            }

            return cached;
        }

        while (_plans.Count >= Math.Max(1, _options.PlanCacheSize))
        {
            long oldest = _lru.Last!.Value;
            _lru.RemoveLast();
            _plans.Remove(oldest, out var evicted);
            evicted?.Dispose();
        }

        var plan = Planner.Plan(Graph, tokens, Placements);
        _logger?.LogDebug("Planned {Steps} steps for {Tokens} tokens", plan.Steps.Length, tokens);
        PlanInstance instance;
        try
        {
            instance = new PlanInstance(plan, _chain, _weights);
        }
        catch (DeviceMemoryException e) when (_plans.Count > 0)
        {
            // Fallback: a device is out of memory while other token counts still hold their
            // buffers. Free those and try once more; a second failure is the caller's error.
            // (A failed PlanInstance has already freed what it allocated.)
            _logger?.LogWarning("Out of memory planning {Tokens} tokens ({Message}); freeing {Count} cached plan(s) and retrying",
                tokens, e.Message, _plans.Count);
            DropPlans();
            instance = new PlanInstance(plan, _chain, _weights);
        }

        _plans[tokens] = instance;
        _lru.AddFirst(tokens);
        return instance;
    }

    /// <summary>Frees every buffer this session allocated (the backends stay open).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            DropPlans();
            foreach (var b in _weights.Values)
            {
                b.Dispose();
            }

            _weights.Clear();
        }
    }

    /// <summary>Frees every cached plan and its activation buffers.</summary>
    private void DropPlans()
    {
        foreach (var p in _plans.Values)
        {
            p.Dispose();
        }

        _plans.Clear();
        _lru.Clear();
    }

    /// <summary>
    /// Waits for each backend of the chain after a failed run, so that no queued work still uses
    /// the buffers about to be freed, and so that a kernel status the failed run left behind (for
    /// example an invalid id flagged before a later node failed) is read now instead of failing
    /// the next run. Errors here are dropped: the run's own error is the one reported.
    /// </summary>
    private void SettleAfterFailure()
    {
        foreach (var backend in _chain)
        {
            try
            {
                backend.Synchronize();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                _logger?.LogDebug("Synchronising {Device} after a failed run also failed: {Message}", backend.Device.Id, e.Message);
            }
        }
    }
}
