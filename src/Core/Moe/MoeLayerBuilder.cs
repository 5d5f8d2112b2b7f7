using Accel.Errors;
using Accel.Graph;
using Accel.Types;
using N = Accel.Moe.MoeWeightNames;

namespace Accel.Moe;

/// <summary>
/// Turns a <see cref="MoeConfig"/> and one layer's loaded weights into the graph of that layer's
/// MoE block (moe-spec section 5 composites): router, routing, dispatch, experts, combine and the
/// shared expert. Inputs: <c>hidden_states</c> [T, D] f32 (and <c>token_ids</c> [T] i32 for hash
/// layers). Outputs: <c>output</c> [T, D], <c>topk_ids</c> [T, K], <c>topk_weights</c> [T, K].
/// <see cref="BuildRouted"/> builds the variant whose routing is an input (<see cref="MoeLayerMode.Routed"/>).
/// </summary>
public static class MoeLayerBuilder
{
    /// <summary>Name of the activation input.</summary>
    public const string HiddenStates = "hidden_states";

    /// <summary>Name of the token-id input of hash layers.</summary>
    public const string TokenIds = "token_ids";

    /// <summary>Name of the layer output.</summary>
    public const string Output = "output";

    /// <summary>Name of the selected experts output (an input of the routed variant).</summary>
    public const string TopkIds = "topk_ids";

    /// <summary>Name of the routing weights output (an input of the routed variant).</summary>
    public const string TopkWeights = "topk_weights";

    /// <summary>Builds the graph; weights are only inspected for their dtypes and shapes.</summary>
    public static Graph.Graph Build(MoeConfig config, int layer, IReadOnlyDictionary<string, HostTensor> weights)
    {
        MoeConfigValidator.Validate(config);
        var b = new LayerWeights(new GraphBuilder(), weights);
        var g = b.Graph;
        int e = config.Experts, k = config.TopK;
        var x = g.Input(HiddenStates, DType.F32, Dim.Tokens, config.Hidden);
        var logits = g.RouterGemm("router_gemm", x, b.Required(N.Router));
        var scores = g.RouterScore("router_score", logits, config.Score);
        Value ids;
        if (config.IsHashLayer(layer))
        {
            var tokenIds = g.Input(TokenIds, DType.I32, Dim.Tokens);
            ids = g.HashRoute("hash_route", tokenIds, b.Required(N.HashTable), e);
        }
        else
        {
            var bias = b.Optional(N.RouterBias);
            var q = bias is null ? scores : g.SelectionBias("selection_bias", scores, bias);
            if (config.Groups > 1 && config.TopGroups < config.Groups)
            {
                q = g.GroupLimitMask("group_limit", q, config.Groups, config.TopGroups, config.GroupScoreFor(bias is not null));
            }

            ids = g.TopK("topk", q, k);
        }

        var w = g.RouteWeights("route_weights", scores, ids, config.Normalize, config.RouteScale, config.NormEpsilon);
        var output = Experts(b, config, x, ids, w);

        // Without a shared expert the output is the combine node's value; callers find it by position.
        return g.Output(output).Output(ids).Output(w).Build();
    }

    /// <summary>
    /// Builds the routed variant (<see cref="MoeLayerMode.Routed"/>): the routing is a graph input,
    /// <c>topk_ids</c> [T, K] i32 and <c>topk_weights</c> [T, K] f32, in place of the router, and
    /// dispatch, experts, combine and the shared expert are those of <see cref="Build"/>. The one
    /// output is the layer output [T, D] f32. The router weights (and a hash layer's table) are not
    /// used: once the routing is given, every layer's experts are built alike.
    /// </summary>
    public static Graph.Graph BuildRouted(MoeConfig config, IReadOnlyDictionary<string, HostTensor> weights)
    {
        MoeConfigValidator.Validate(config);
        var b = new LayerWeights(new GraphBuilder(), weights);
        var g = b.Graph;
        var x = g.Input(HiddenStates, DType.F32, Dim.Tokens, config.Hidden);
        var ids = g.Input(TopkIds, DType.I32, Dim.Tokens, config.TopK);
        var w = g.Input(TopkWeights, DType.F32, Dim.Tokens, config.TopK);
        return g.Output(Experts(b, config, x, ids, w)).Build();
    }

    /// <summary>
    /// Dispatch, the routed experts, combine and the shared expert, given the routing
    /// (<paramref name="ids"/> [T, K] i32, <paramref name="w"/> [T, K] f32): the part both
    /// variants share. Returns the layer output.
    /// </summary>
    private static Value Experts(LayerWeights b, MoeConfig config, Value x, Value ids, Value w)
    {
        var g = b.Graph;
        int e = config.Experts;
        var counts = g.ExpertHistogram("expert_histogram", ids, e);
        var offsets = g.ExclusiveScan("expert_offsets", counts, e, 1);
        var (ptt, pts, tsp) = g.BuildPermutation("permutation", ids, offsets, e, 1);
        var xp = g.Permute("permute", x, ptt);
        Value Gemm(string name, Value rows, string proj) =>
            g.GroupedGemm(name, rows, b.Required(N.Experts(proj)), b.Optional(N.ExpertsScale(proj)), offsets);
        var gate = Gemm("experts_gate", xp, "gate");
        var up = Gemm("experts_up", xp, "up");
        var act = config.WeightBeforeDown
            ? g.SwiGlu("experts_swiglu", gate, up, config.SwigluLimit, w, ptt, pts)
            : g.SwiGlu("experts_swiglu", gate, up, config.SwigluLimit);
        var down = Gemm("experts_down", act, "down");
        var routed = g.Unpermute("combine", down, tsp, config.WeightBeforeDown ? null : w);
        if (config.SharedWidth <= 0)
        {
            return routed;
        }

        ProjectionWeights P(string proj) => new(b.Required(N.Shared(proj)), b.Optional(N.SharedScale(proj)));
        var shared = g.SharedExpert("shared_expert", x, P("gate"), P("up"), P("down"), config.SwigluLimit,
            config.SharedExpertGate ? b.Required(N.SharedGate) : null);
        return g.Sum(Output, routed, shared);
    }

    /// <summary>Declares the layer's weights in a graph as they are first used.</summary>
    private sealed class LayerWeights(GraphBuilder graph, IReadOnlyDictionary<string, HostTensor> weights)
    {
        public GraphBuilder Graph { get; } = graph;

        public Value Required(string name) => weights.TryGetValue(name, out var t)
            ? Graph.Weight(name, t.Type, [.. t.Shape])
            : throw new InvalidInputException($"The layer weights lack '{name}'.");

        public Value? Optional(string name) => weights.ContainsKey(name) ? Required(name) : null;
    }

    /// <summary>The name of the value that holds the layer output in a graph built here.</summary>
    public static string OutputValue(Graph.Graph graph) => graph.Values[graph.Outputs[0]].Name;

    /// <summary>The name of the value that holds the selected experts.</summary>
    public static string TopkIdsValue(Graph.Graph graph) => graph.Values[graph.Outputs[1]].Name;

    /// <summary>The name of the value that holds the routing weights.</summary>
    public static string TopkWeightsValue(Graph.Graph graph) => graph.Values[graph.Outputs[2]].Name;
}
