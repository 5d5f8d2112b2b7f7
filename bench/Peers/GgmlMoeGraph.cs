using Accel.Graph;
using Accel.Moe;

namespace Accel.Peers;

/// <summary>The layer's weights as ggml tensors (ne order: [in, out, E] for the stacked experts).</summary>
internal sealed record GgmlMoeWeights(IntPtr Router, IntPtr Bias, IntPtr Gate, IntPtr Up, IntPtr Down,
    IntPtr SharedGate, IntPtr SharedUp, IntPtr SharedDown);

/// <summary>
/// Builds the MoE layer as a ggml graph the way llama.cpp builds a DeepSeek MoE FFN: router logits
/// (f32 mul_mat), scores (sigmoid, or sqrt(softplus) for V4), selection bias, group-limited selection
/// (top-2 sum per group, keep the best groups, the others set to -inf through get_rows / set_rows
/// into a -inf filled copy), top-k, weights gathered from the unbiased scores with get_rows,
/// renormalised and scaled; routed experts through mul_mat_id on [in, out, E] tensors, SwiGLU
/// (with V4's clamp), the weight applied before or after the down projection as the config says,
/// the K slots summed; the shared expert through plain mul_mat; both added.
/// </summary>
internal sealed unsafe class GgmlMoeGraph(GgmlApi g, IntPtr ctx, MoeConfig c, GgmlMoeWeights w)
{
    /// <summary>Output [D, T] for input <paramref name="x"/> [D, T].</summary>
    public IntPtr Build(IntPtr x, int tokens)
    {
        int e = c.Experts, k = c.TopK;
        var logits = g.MulMat(ctx, w.Router, x);                                      // [E, T]
        var probs = c.Score switch
        {
            ScoreFunc.Sigmoid => g.Sigmoid(ctx, logits),
            ScoreFunc.SqrtSoftplus => g.Sqrt(ctx, g.Softplus(ctx, logits)),        // ggml's softplus is z above 20
            _ => throw new NotSupportedException($"The ggml peer builds sigmoid and sqrt-softplus routing, not {c.Score}."),
        };
        var selection = w.Bias != IntPtr.Zero ? g.Add(ctx, probs, w.Bias) : probs;    // [E, T]
        if (c.Groups > 1 && c.TopGroups < c.Groups)
        {
            selection = GroupLimit(selection, tokens);
        }

        var ids = g.TopK(ctx, selection, k);                                          // [K, T] i32
        var weights = g.GetRows(ctx, g.Reshape3d(ctx, probs, 1, e, tokens), ids);    // [1, K, T]
        weights = g.Reshape2d(ctx, weights, k, tokens);
        if (c.Normalize)
        {
            weights = g.Div(ctx, weights, g.SumRows(ctx, weights));                   // / [1, T]
        }

        if (c.RouteScale != 1f)
        {
            weights = g.Scale(ctx, weights, c.RouteScale);
        }

        var slotWeights = g.Reshape3d(ctx, weights, 1, k, tokens);                    // [1, K, T]
        var xb = g.Reshape3d(ctx, x, c.Hidden, 1, tokens);                            // [D, 1, T]
        var h = Swiglu(g.MulMatId(ctx, w.Gate, xb, ids), g.MulMatId(ctx, w.Up, xb, ids)); // [I, K, T]
        if (c.WeightBeforeDown)
        {
            h = g.Mul(ctx, h, slotWeights);
        }

        var down = g.MulMatId(ctx, w.Down, h, ids);                                   // [D, K, T]
        if (!c.WeightBeforeDown)
        {
            down = g.Mul(ctx, down, slotWeights);
        }

        IntPtr routed = IntPtr.Zero;
        for (int slot = 0; slot < k; slot++)
        {
            var view = g.View2d(ctx, down, c.Hidden, tokens, (nuint)GgmlLayout.Nb(down, 2), (nuint)(slot * GgmlLayout.Nb(down, 1)));
            routed = slot == 0 ? view : g.Add(ctx, routed, view);
        }

        if (k == 1)
        {
            routed = g.Cont(ctx, routed);
        }

        if (w.SharedGate == IntPtr.Zero)
        {
            return routed;
        }

        var hs = Swiglu(g.MulMat(ctx, w.SharedGate, x), g.MulMat(ctx, w.SharedUp, x));  // [Is, T]
        return g.Add(ctx, routed, g.MulMat(ctx, w.SharedDown, hs));
    }

    /// <summary>silu(gate) * up, with V4's clamp first (up to ±limit, gate only from above).</summary>
    private IntPtr Swiglu(IntPtr gate, IntPtr up)
    {
        if (c.SwigluLimit is float limit)
        {
            gate = g.Clamp(ctx, gate, float.NegativeInfinity, limit);
            up = g.Clamp(ctx, up, -limit, limit);
        }

        return g.SwigluSplit(ctx, gate, up);
    }

    /// <summary>Keeps the experts of the TopGroups groups with the largest top-2 sums; the others become -inf.</summary>
    private IntPtr GroupLimit(IntPtr selection, int tokens)
    {
        int groups = c.Groups, per = c.Experts / c.Groups;
        var q3 = g.Reshape3d(ctx, selection, per, groups, tokens);                    // [E/G, G, T]
        var top2 = g.TopK(ctx, q3, 2);                                                // [2, G, T] i32
        var top2Values = g.GetRows(ctx, g.Reshape4d(ctx, q3, 1, per, groups, tokens), top2); // [1, 2, G, T]
        var groupScores = g.SumRows(ctx, g.Reshape3d(ctx, top2Values, 2, groups, tokens));   // [1, G, T]
        var keptGroups = g.TopK(ctx, g.Reshape2d(ctx, groupScores, groups, tokens), c.TopGroups); // [Gk, T] i32
        var kept = g.GetRows(ctx, q3, keptGroups);                                    // [E/G, Gk, T]
        var masked = g.SetRows(ctx, g.Fill(ctx, q3, float.NegativeInfinity), kept, keptGroups); // [E/G, G, T]
        return g.Reshape2d(ctx, masked, c.Experts, tokens);
    }
}
