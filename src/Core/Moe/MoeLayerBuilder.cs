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
/// </summary>
public static class MoeLayerBuilder
{
    /// <summary>Name of the activation input.</summary>
    public const string HiddenStates = "hidden_states";

    /// <summary>Name of the token-id input of hash layers.</summary>
    public const string TokenIds = "token_ids";

    /// <summary>Name of the layer output.</summary>
    public const string Output = "output";

    /// <summary>Name of the selected experts output.</summary>
    public const string TopkIds = "topk_ids";

    /// <summary>Name of the routing weights output.</summary>
    public const string TopkWeights = "topk_weights";

    /// <summary>Builds the graph; weights are only inspected for their dtypes and shapes.</summary>
    public static Graph.Graph Build(MoeConfig config, int layer, IReadOnlyDictionary<string, HostTensor> weights)
    {
        MoeConfigValidator.Validate(config);
        var b = new GraphBuilder();
        Value W(string name) => weights.TryGetValue(name, out var t)
            ? b.Weight(name, t.Type, [.. t.Shape])
            : throw new InvalidInputException($"The layer weights lack '{name}'.");
        Value? Opt(string name) => weights.ContainsKey(name) ? W(name) : null;

        int e = config.Experts, k = config.TopK;
        var x = b.Input(HiddenStates, DType.F32, Dim.Tokens, config.Hidden);
        var logits = b.RouterGemm("router_gemm", x, W(N.Router));
        var scores = b.RouterScore("router_score", logits, config.Score);
        Value ids;
        if (config.IsHashLayer(layer))
        {
            var tokenIds = b.Input(TokenIds, DType.I32, Dim.Tokens);
            ids = b.HashRoute("hash_route", tokenIds, W(N.HashTable), e);
        }
        else
        {
            var bias = Opt(N.RouterBias);
            var q = bias is null ? scores : b.SelectionBias("selection_bias", scores, bias);
            if (config.Groups > 1 && config.TopGroups < config.Groups)
            {
                q = b.GroupLimitMask("group_limit", q, config.Groups, config.TopGroups, config.GroupScoreFor(bias is not null));
            }

            ids = b.TopK("topk", q, k);
        }

        var w = b.RouteWeights("route_weights", scores, ids, config.Normalize, config.RouteScale, config.NormEpsilon);
        var counts = b.ExpertHistogram("expert_histogram", ids, e);
        var offsets = b.ExclusiveScan("expert_offsets", counts, e, 1);
        var (ptt, pts, tsp) = b.BuildPermutation("permutation", ids, offsets, e, 1);
        var xp = b.Permute("permute", x, ptt);
        var gate = b.GroupedGemm("experts_gate", xp, W(N.Experts("gate")), Opt(N.ExpertsScale("gate")), offsets);
        var up = b.GroupedGemm("experts_up", xp, W(N.Experts("up")), Opt(N.ExpertsScale("up")), offsets);
        var act = config.WeightBeforeDown
            ? b.SwiGlu("experts_swiglu", gate, up, config.SwigluLimit, w, ptt, pts)
            : b.SwiGlu("experts_swiglu", gate, up, config.SwigluLimit);
        var down = b.GroupedGemm("experts_down", act, W(N.Experts("down")), Opt(N.ExpertsScale("down")), offsets);
        var routed = b.Unpermute("combine", down, tsp, config.WeightBeforeDown ? null : w);
        var output = routed;
        if (config.SharedWidth > 0)
        {
            ProjectionWeights P(string proj) => new(W(N.Shared(proj)), Opt(N.SharedScale(proj)));
            var shared = b.SharedExpert("shared_expert", x, P("gate"), P("up"), P("down"), config.SwigluLimit,
                config.SharedExpertGate ? W(N.SharedGate) : null);
            output = b.Sum(Output, routed, shared);
        }

        // Without a shared expert the output is the combine node's value; callers find it by position.
        return b.Output(output).Output(ids).Output(w).Build();
    }

    /// <summary>The name of the value that holds the layer output in a graph built here.</summary>
    public static string OutputValue(Graph.Graph graph) => graph.Values[graph.Outputs[0]].Name;

    /// <summary>The name of the value that holds the selected experts.</summary>
    public static string TopkIdsValue(Graph.Graph graph) => graph.Values[graph.Outputs[1]].Name;

    /// <summary>The name of the value that holds the routing weights.</summary>
    public static string TopkWeightsValue(Graph.Graph graph) => graph.Values[graph.Outputs[2]].Name;
}
