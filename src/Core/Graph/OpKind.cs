namespace Accel.Graph;

/// <summary>The MoE op set (moe-spec section 5, OP-1 .. OP-17).</summary>
public enum OpKind
{
    /// <summary>OP-1: y = w * x / sqrt(mean(x^2) + eps).</summary>
    RmsNorm,
    /// <summary>OP-2: z = x * Wg^T in fp32.</summary>
    RouterGemm,
    /// <summary>OP-3: softmax, sigmoid or sqrt(softplus) scores.</summary>
    RouterScore,
    /// <summary>OP-4: q = p + b (selection only).</summary>
    SelectionBias,
    /// <summary>OP-5: keep the top groups, set the rest to -inf.</summary>
    GroupLimitMask,
    /// <summary>OP-6: the K largest scores, descending, ties to the smaller expert index.</summary>
    TopK,
    /// <summary>OP-7: experts from a token-id table.</summary>
    HashRoute,
    /// <summary>OP-8: gather, optionally renormalise, then scale the routing weights.</summary>
    RouteWeights,
    /// <summary>OP-9a: tokens per expert.</summary>
    ExpertHistogram,
    /// <summary>OP-9b: exclusive scan of the (aligned) expert counts into segment offsets.</summary>
    ExclusiveScan,
    /// <summary>OP-10: the expert-major row order.</summary>
    BuildPermutation,
    /// <summary>OP-11: gather token rows into expert-major order.</summary>
    Permute,
    /// <summary>OP-12: one GEMM per expert segment, weights optionally quantised.</summary>
    GroupedGemm,
    /// <summary>OP-13: silu(gate) * up with optional clamp and row weight.</summary>
    SwiGlu,
    /// <summary>OP-14: weighted gather-combine back to token order.</summary>
    Unpermute,
    /// <summary>OP-15: the dense shared expert (optionally sigmoid-gated).</summary>
    SharedExpert,
    /// <summary>OP-16: elementwise sum.</summary>
    Add,
    /// <summary>OP-17a: FP8 e4m3 with 128x128 block scales to fp32.</summary>
    DequantFp8Block,
    /// <summary>OP-17b: FP4 e2m1 with 1x32 UE8M0 scales to fp32.</summary>
    DequantFp4,
    /// <summary>OP-17c: per-row, per-128-channel FP8 activation quantisation.</summary>
    ActQuantFp8,
}
