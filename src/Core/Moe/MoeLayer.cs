using System.Runtime.CompilerServices;
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
/// values, token ids), converts bf16/f16 activations to f32, and returns sorted routing. Built in
/// <see cref="MoeLayerMode.Routed"/> mode it runs the experts only, on routing the caller gives
/// (<see cref="RunRouted(Accel.Types.HostTensor, Accel.Types.HostTensor, Accel.Types.HostTensor)"/>).
/// </summary>
public sealed class MoeLayer : IDisposable
{
    private readonly GraphSession _session;
    private readonly int _vocab;

    // Per result (Run) or output (RunRouted) a caller keeps: the fp32 copy of bf16/f16 input and the
    // output bindings, so repeated runs into one result allocate neither (a result is not shared by
    // concurrent runs: they would write the same tensors). Keys compare by reference.
    private readonly ConditionalWeakTable<object, RunScratch> _scratch = new();
    private readonly ConditionalWeakTable<object, RunScratch>.CreateValueCallback _newScratch;

    private sealed class RunScratch(Dictionary<string, HostTensor> outputs)
    {
        public HostTensor? Hidden;

        public Dictionary<string, HostTensor> Outputs { get; } = outputs;

        /// <summary>The session inputs of a run into this result, filled at its start and cleared at its end.</summary>
        public Dictionary<string, HostTensor> Inputs { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>Builds the layer's graph (whole block, or experts only) and a session on <paramref name="chain"/>.</summary>
    public MoeLayer(MoeConfig config, int layer, IReadOnlyDictionary<string, HostTensor> weights,
        IReadOnlyList<IBackend> chain, SessionOptions? options = null, ILogger? logger = null,
        MoeLayerMode mode = MoeLayerMode.Full)
    {
        Config = MoeConfigValidator.Validate(config);
        Layer = layer;
        Mode = mode;
        Graph = mode == MoeLayerMode.Routed ? MoeLayerBuilder.BuildRouted(config, weights) : MoeLayerBuilder.Build(config, layer, weights);
        _vocab = weights.TryGetValue(MoeWeightNames.HashTable, out var table) ? (int)table.Shape[0] : 0;
        _session = new GraphSession(Graph, chain, weights, options, logger);
        _newScratch = into => new RunScratch(Outputs(into));
    }

    /// <summary>The config.</summary>
    public MoeConfig Config { get; }

    /// <summary>The layer index.</summary>
    public int Layer { get; }

    /// <summary>Whether the layer runs the whole block (<see cref="Run(Accel.Types.HostTensor, Accel.Types.HostTensor?)"/>) or the experts only (<see cref="RunRouted(Accel.Types.HostTensor, Accel.Types.HostTensor, Accel.Types.HostTensor)"/>).</summary>
    public MoeLayerMode Mode { get; }

    /// <summary>The layer's graph.</summary>
    public Graph.Graph Graph { get; }

    /// <summary>The session that runs it (placements, plans).</summary>
    public GraphSession Session => _session;

    /// <summary>Whether <see cref="Run(Accel.Types.HostTensor, Accel.Types.HostTensor?)"/> needs token ids (a hash layer built with its router).</summary>
    public bool NeedsTokenIds => Mode == MoeLayerMode.Full && Config.IsHashLayer(Layer);

    /// <summary>Runs the layer on <paramref name="hiddenStates"/> [T, D] (f32, bf16 or f16).</summary>
    public MoeResult Run(HostTensor hiddenStates, HostTensor? tokenIds = null)
    {
        // The inputs are checked before the result is sized from them.
        var inputs = LayerInputs(hiddenStates, tokenIds, out long tokens);
        var result = NewResult(tokens);
        RunLayer(inputs, result, Outputs(result));
        return result;
    }

    /// <summary>
    /// Runs the layer like <see cref="Run(HostTensor, HostTensor?)"/> but writes the result into
    /// <paramref name="into"/> (from <see cref="NewResult"/> for the same token count), so that a
    /// caller running repeatedly allocates no output memory per run.
    /// </summary>
    /// <remarks>
    /// bf16/f16 input is converted into an fp32 copy kept with <paramref name="into"/>, so a loop
    /// over one result allocates no large arrays. Runs may be concurrent, each with its own result.
    /// </remarks>
    /// <exception cref="InvalidInputException">A tensor of <paramref name="into"/> has the wrong dtype or shape.</exception>
    public void Run(HostTensor hiddenStates, MoeResult into, HostTensor? tokenIds = null)
    {
        ArgumentNullException.ThrowIfNull(into);
        var scratch = _scratch.GetValue(into, _newScratch);
        try
        {
            RunLayer(LayerInputs(hiddenStates, tokenIds, out _, scratch), into, scratch.Outputs);
        }
        finally
        {
            // The kept dictionary does not hold on to the caller's tensors between runs.
            scratch.Inputs.Clear();
        }
    }

    private Dictionary<string, HostTensor> LayerInputs(HostTensor hiddenStates, HostTensor? tokenIds, out long tokens, RunScratch? scratch = null)
    {
        RequireMode(MoeLayerMode.Full, nameof(Run));
        var x = PrepareHidden(hiddenStates, scratch);
        tokens = x.Shape[0];
        var inputs = scratch?.Inputs ?? new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        inputs[MoeLayerBuilder.HiddenStates] = x;
        if (NeedsTokenIds)
        {
            inputs[MoeLayerBuilder.TokenIds] = PrepareTokenIds(tokenIds, tokens);
        }

        return inputs;
    }

    private void RunLayer(Dictionary<string, HostTensor> inputs, MoeResult into, Dictionary<string, HostTensor> outputs)
    {
        _session.RunInto(inputs, outputs);
        SortRows(into.TopkIds.AsSpan<int>(), into.TopkWeights.AsSpan<float>(), Config.TopK);
    }

    /// <summary>
    /// A result to run <paramref name="tokens"/> tokens into (<see cref="Run(HostTensor, MoeResult, HostTensor?)"/>):
    /// output [T, D] f32, routing [T, K] i32 and f32 (the routing tensors are empty [T, 0] in
    /// <see cref="MoeLayerMode.Routed"/> mode, which returns the output only; see <see cref="NewOutput"/>).
    /// </summary>
    public MoeResult NewResult(long tokens)
    {
        int k = Mode == MoeLayerMode.Full ? Config.TopK : 0;
        return new MoeResult(NewOutput(tokens), HostTensor.Zeros(DType.I32, new Shape(tokens, k)), HostTensor.Zeros(DType.F32, new Shape(tokens, k)));
    }

    /// <summary>
    /// Runs the experts of a layer built in <see cref="MoeLayerMode.Routed"/> mode on routing given by
    /// the caller: <paramref name="topkIds"/> [T, K] (i32 or i64, each row K distinct experts in
    /// 0..E-1) and <paramref name="topkWeights"/> [T, K] (f32, bf16 or f16, finite), the weight each
    /// expert's output is scaled by (as <see cref="MoeResult.TopkWeights"/> reports them, the routed
    /// scaling factor included). The rows may be in any order.
    /// </summary>
    /// <returns>The layer output [T, D] f32: routed plus shared expert (no residual).</returns>
    public HostTensor RunRouted(HostTensor hiddenStates, HostTensor topkIds, HostTensor topkWeights)
    {
        var inputs = RoutedInputs(hiddenStates, topkIds, topkWeights, out long tokens);
        var output = NewOutput(tokens);
        _session.RunInto(inputs, Outputs(output));
        return output;
    }

    /// <summary>
    /// Runs the experts like <see cref="RunRouted(HostTensor, HostTensor, HostTensor)"/> but writes
    /// the output into <paramref name="into"/> ([T, D] f32, e.g. <see cref="NewResult"/>'s output).
    /// </summary>
    /// <exception cref="InvalidInputException"><paramref name="into"/> has the wrong dtype or shape.</exception>
    /// <remarks>bf16/f16 input is converted into an fp32 copy kept with <paramref name="into"/>, as for <see cref="Run(HostTensor, MoeResult, HostTensor?)"/>.</remarks>
    public void RunRouted(HostTensor hiddenStates, HostTensor topkIds, HostTensor topkWeights, HostTensor into)
    {
        ArgumentNullException.ThrowIfNull(into);
        var scratch = _scratch.GetValue(into, _newScratch);
        try
        {
            _session.RunInto(RoutedInputs(hiddenStates, topkIds, topkWeights, out _, scratch), scratch.Outputs);
        }
        finally
        {
            scratch.Inputs.Clear();
        }
    }

    /// <summary>An output [T, D] f32 to run <paramref name="tokens"/> tokens of <see cref="RunRouted(HostTensor, HostTensor, HostTensor, HostTensor)"/> into.</summary>
    public HostTensor NewOutput(long tokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokens);
        return HostTensor.Zeros(DType.F32, new Shape(tokens, Config.Hidden));
    }

    private Dictionary<string, HostTensor> RoutedInputs(HostTensor hiddenStates, HostTensor topkIds, HostTensor topkWeights, out long tokens,
        RunScratch? scratch = null)
    {
        RequireMode(MoeLayerMode.Routed, nameof(RunRouted));
        var x = PrepareHidden(hiddenStates, scratch);
        tokens = x.Shape[0];
        var inputs = scratch?.Inputs ?? new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        inputs[MoeLayerBuilder.HiddenStates] = x;
        inputs[MoeLayerBuilder.TopkIds] = PrepareRoutingIds(topkIds, tokens);
        inputs[MoeLayerBuilder.TopkWeights] = PrepareRoutingWeights(topkWeights, tokens);
        return inputs;
    }

    /// <summary>The session outputs bound to a result's tensors (<see cref="MoeResult"/>) or to a routed run's output tensor.</summary>
    private Dictionary<string, HostTensor> Outputs(object into) => into switch
    {
        MoeResult r => new(StringComparer.Ordinal)
        {
            [MoeLayerBuilder.OutputValue(Graph)] = r.Output,
            [MoeLayerBuilder.TopkIdsValue(Graph)] = r.TopkIds,
            [MoeLayerBuilder.TopkWeightsValue(Graph)] = r.TopkWeights,
        },
        HostTensor output => new(StringComparer.Ordinal) { [MoeLayerBuilder.OutputValue(Graph)] = output },
        _ => throw new ArgumentException($"Runs write into a MoeResult or an output tensor, not a {into.GetType().Name}.", nameof(into)),
    };

    private void RequireMode(MoeLayerMode mode, string method)
    {
        if (Mode != mode)
        {
            string other = mode == MoeLayerMode.Full ? nameof(RunRouted) : nameof(Run);
            throw new InvalidInputException(
                $"{method} needs a layer built in {mode} mode, but this one was built in {Mode} mode; call {other}, or build the layer with MoeLayerMode.{mode}.");
        }
    }

    private void CheckRoutingShape(HostTensor? t, string name, long tokens, string types)
    {
        if (t is null)
        {
            throw new InvalidInputException($"{name} [{tokens}, {Config.TopK}] ({types}) is required in routed mode.");
        }

        if (t.Shape.Rank != 2 || t.Shape[0] != tokens || t.Shape[1] != Config.TopK)
        {
            throw new InvalidInputException(
                $"{name} must be [{tokens}, {Config.TopK}] (one row of top-{Config.TopK} per row of hidden_states) but is {t.Shape}.");
        }
    }

    private HostTensor PrepareRoutingIds(HostTensor ids, long tokens)
    {
        CheckRoutingShape(ids, MoeLayerBuilder.TopkIds, tokens, "i32 or i64");
        if (ids.Type is not (DType.I32 or DType.I64))
        {
            throw new InvalidInputException($"{MoeLayerBuilder.TopkIds} must be i32 or i64 but is {ids.Type.ShortName()}.");
        }

        int[] values = ids.ToI32();
        int k = Config.TopK, experts = Config.Experts;
        for (int i = 0; i < values.Length; i++)
        {
            int e = values[i];
            if (e < 0 || e >= experts)
            {
                throw new InvalidInputException(
                    $"{MoeLayerBuilder.TopkIds}[{i / k}, {i % k}] = {e} is outside 0..{experts - 1}; every id must name one of the layer's {experts} routed experts.");
            }

            for (int j = i - (i % k); j < i; j++)
            {
                if (values[j] == e)
                {
                    throw new InvalidInputException(
                        $"{MoeLayerBuilder.TopkIds} row {i / k} names expert {e} twice; the {k} experts of a token must be distinct.");
                }
            }
        }

        return HostTensor.FromI32(ids.Shape, values);
    }

    private HostTensor PrepareRoutingWeights(HostTensor weights, long tokens)
    {
        CheckRoutingShape(weights, MoeLayerBuilder.TopkWeights, tokens, "f32, bf16 or f16");
        if (weights.Type is not (DType.F32 or DType.BF16 or DType.F16))
        {
            throw new InvalidInputException($"{MoeLayerBuilder.TopkWeights} must be f32, bf16 or f16 but is {weights.Type.ShortName()}.");
        }

        float[] values = weights.ToF32();
        if (FiniteScan.FirstNonFinite(values) is var i and >= 0)
        {
            throw new InvalidInputException(
                $"{MoeLayerBuilder.TopkWeights}[{i / Config.TopK}, {i % Config.TopK}] is {values[i]}; every routing weight must be finite.");
        }

        return HostTensor.FromF32(weights.Shape, values);
    }

    private HostTensor PrepareHidden(HostTensor h, RunScratch? scratch = null)
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

        var x = h.Type == DType.F32 ? h : ToF32(h, scratch);
        var v = x.AsSpan<float>();
        if (FiniteScan.FirstNonFinite(v) is var i and >= 0)
        {
            throw new InvalidInputException(
                $"hidden_states[{i / Config.Hidden}, {i % Config.Hidden}] is {v[i]}; every activation must be finite.");
        }

        return x;
    }

    /// <summary>bf16/f16 <paramref name="h"/> as fp32: into the copy kept in <paramref name="scratch"/> (made on first use or when the shape changes), else a new tensor.</summary>
    private static HostTensor ToF32(HostTensor h, RunScratch? scratch)
    {
        if (scratch is null)
        {
            return HostTensor.FromF32(h.Shape, h.ToF32());
        }

        if (scratch.Hidden is not { } kept || kept.Shape != h.Shape)
        {
            scratch.Hidden = kept = HostTensor.Zeros(DType.F32, h.Shape);
        }

        NumericFormats.HalfBitsToF32(h.AsSpan<ushort>(), kept.AsSpan<float>(), h.Type);
        return kept;
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
