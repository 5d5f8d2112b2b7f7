using Accel.Backends;
using Accel.Errors;
using Accel.Execution;
using Accel.Types;
using Microsoft.Extensions.Logging;

namespace Accel.Moe;

/// <summary>The result of one MoE layer run.</summary>
/// <param name="Output">[T, D] f32: routed plus shared output (no residual).</param>
/// <param name="TopkIds">[T, K] i32, each row in ascending expert order.</param>
/// <param name="TopkWeights">[T, K] f32, in the same order as <paramref name="TopkIds"/>.</param>
public sealed record MoeResult(HostTensor Output, HostTensor TopkIds, HostTensor TopkWeights);

/// <summary>
/// One layer's MoE block, ready to run on a backend chain: checks inputs (shape, dtype, finite
/// values, token ids), converts bf16/f16 activations to f32, and returns sorted routing.
/// </summary>
public sealed class MoeLayer : IDisposable
{
    private readonly GraphSession _session;
    private readonly int _vocab;

    /// <summary>Builds the layer's graph and a session on <paramref name="chain"/>.</summary>
    public MoeLayer(MoeConfig config, int layer, IReadOnlyDictionary<string, HostTensor> weights,
        IReadOnlyList<IBackend> chain, SessionOptions? options = null, ILogger? logger = null)
    {
        Config = MoeConfigValidator.Validate(config);
        Layer = layer;
        Graph = MoeLayerBuilder.Build(config, layer, weights);
        _vocab = weights.TryGetValue(MoeWeightNames.HashTable, out var table) ? (int)table.Shape[0] : 0;
        _session = new GraphSession(Graph, chain, weights, options, logger);
    }

    /// <summary>The config.</summary>
    public MoeConfig Config { get; }

    /// <summary>The layer index.</summary>
    public int Layer { get; }

    /// <summary>The layer's graph.</summary>
    public Graph.Graph Graph { get; }

    /// <summary>The session that runs it (placements, plans).</summary>
    public GraphSession Session => _session;

    /// <summary>Whether the layer needs token ids.</summary>
    public bool NeedsTokenIds => Config.IsHashLayer(Layer);

    /// <summary>Runs the layer on <paramref name="hiddenStates"/> [T, D] (f32, bf16 or f16).</summary>
    public MoeResult Run(HostTensor hiddenStates, HostTensor? tokenIds = null)
    {
        var x = PrepareHidden(hiddenStates);
        long tokens = x.Shape[0];
        var inputs = new Dictionary<string, HostTensor>(StringComparer.Ordinal) { [MoeLayerBuilder.HiddenStates] = x };
        if (NeedsTokenIds)
        {
            inputs[MoeLayerBuilder.TokenIds] = PrepareTokenIds(tokenIds, tokens);
        }

        var outputs = _session.Run(inputs);
        var output = outputs[MoeLayerBuilder.OutputValue(Graph)];
        var ids = outputs[MoeLayerBuilder.TopkIdsValue(Graph)];
        var weights = outputs[MoeLayerBuilder.TopkWeightsValue(Graph)];
        SortRows(ids.AsSpan<int>(), weights.AsSpan<float>(), Config.TopK);
        return new MoeResult(output, ids, weights);
    }

    private HostTensor PrepareHidden(HostTensor h)
    {
        ArgumentNullException.ThrowIfNull(h);
        if (h.Shape.Rank != 2 || h.Shape[1] != Config.Hidden)
        {
            throw new InvalidInputException($"hidden_states must be [T, {Config.Hidden}] but is {h.Shape}.");
        }

        if (h.Type is not (DType.F32 or DType.BF16 or DType.F16))
        {
            throw new InvalidInputException($"hidden_states must be f32, bf16 or f16 but is {h.Type.ShortName()}.");
        }

        var x = h.Type == DType.F32 ? h : HostTensor.FromF32(h.Shape, h.ToF32());
        var v = x.AsSpan<float>();
        for (int i = 0; i < v.Length; i++)
        {
            if (!float.IsFinite(v[i]))
            {
                throw new InvalidInputException(
                    $"hidden_states[{i / Config.Hidden}, {i % Config.Hidden}] is {v[i]}; every activation must be finite.");
            }
        }

        return x;
    }

    private HostTensor PrepareTokenIds(HostTensor? ids, long tokens)
    {
        if (ids is null)
        {
            throw new InvalidInputException(
                $"Layer {Layer} is a hash layer (below num_hash_layers = {Config.HashLayers}) and needs token_ids [T] (i32 or i64).");
        }

        if (ids.Shape.Rank != 1 || ids.Shape[0] != tokens)
        {
            throw new InvalidInputException($"token_ids must be [{tokens}] (one per row of hidden_states) but is {ids.Shape}.");
        }

        int[] values = ids.ToI32();
        for (int t = 0; t < values.Length; t++)
        {
            if (values[t] < 0 || values[t] >= _vocab)
            {
                throw new InvalidInputException(
                    $"token_ids[{t}] = {values[t]} is outside the hash table (0..{_vocab - 1}); check the ids against the model's vocabulary.");
            }
        }

        return HostTensor.FromI32(ids.Shape, values);
    }

    /// <summary>Sorts each row of (ids, weights) by ascending id.</summary>
    public static void SortRows(Span<int> ids, Span<float> weights, int k)
    {
        for (int r = 0; r + k <= ids.Length && k > 0; r += k)
        {
            ids.Slice(r, k).Sort(weights.Slice(r, k));
        }
    }

    /// <summary>Frees the session's device memory.</summary>
    public void Dispose() => _session.Dispose();
}
