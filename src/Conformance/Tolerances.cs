namespace Accel.Conformance;

/// <summary>
/// The error bounds of the suite. Float outputs are compared by NMSE = sum((a-b)^2) / sum(b^2)
/// (<see cref="Metrics.Nmse"/>, as ggml's test-backend-ops); sqrt(NMSE) is the RMS relative
/// error, so 1e-10 means "agrees to about 1e-5". The oracle is the reference backend (fp32
/// values, fp64 accumulation); the device is expected to compute in fp32 (moe-spec section 5).
/// docs/conformance.md explains each bound.
/// </summary>
public static class Tolerances
{
    /// <summary>
    /// Integer outputs (ids, counts, offsets, permutations): exact. Any difference is a logic error.
    /// </summary>
    public const double Exact = 0;

    /// <summary>
    /// Pure data movement (Permute's gather, a copy of fp32 rows): bit-exact, so NMSE 0.
    /// </summary>
    public const double Copy = 0;

    /// <summary>
    /// fp32 elementwise ops (Add, SelectionBias, RouterScore, RouteWeights, SwiGlu, the finite
    /// values of GroupLimitMask, weight dequantisation): each element is a few IEEE operations and
    /// at most one libm call (exp, log1p, sqrt) or a sum over at most E terms (softmax). A device's
    /// math library is within a few ulps (RMS relative error ~1e-7, NMSE ~1e-14); 1e-10 leaves a
    /// factor of 100 in relative error for fast-math approximations, while any logic error (wrong
    /// element, sign, clamp or scale) gives NMSE above 1e-6.
    /// </summary>
    public const double Elementwise = 1e-10;

    /// <summary>
    /// fp32 reductions (RmsNorm, RouterGemm, Unpermute, GroupedGemm and SharedExpert with f32, f16
    /// or bf16 weights, whose conversion to fp32 is exact on both sides): only the accumulation
    /// order and precision differ. fp32 accumulation of a random dot product of length n has RMS
    /// relative error ~ eps * sqrt(n) (3e-6 for n = 4096, NMSE 1e-11); the worst case n * eps is
    /// 2.4e-4. 1e-8 admits any fp32 summation order, and rejects operands silently rounded to
    /// bf16/f16 (NMSE ~1e-5) or TF32 (NMSE ~1e-7), which the spec does not allow.
    /// </summary>
    public const double Reduction = 1e-8;

    /// <summary>
    /// GEMMs with FP8 e4m3 or FP4 e2m1 weights (GroupedGemm, SharedExpert, and layers that use
    /// them). Both sides dequantise the weights exactly (a code times a power of two or an f32
    /// scale), so a device that dequantises and accumulates in fp32 lands near
    /// <see cref="Reduction"/> (measured NMSE ~1e-13). The bound is wider because moe-spec
    /// section 5 lets a device quantise the activations of these GEMMs to e4m3 per 1x128 block
    /// (OP-11/OP-17c, as FP8 tensor cores need), which measures NMSE 6.4e-4 (the spec's relative
    /// 2e-2; ggml allows 5e-4 for MUL_MAT_ID and 2e-3 for fused chains). 2e-3 leaves a factor of 3.
    /// A wrong or ignored partial block (8 of 136 columns: NMSE ~6e-2), a wrong scale (a factor of
    /// 2: NMSE 0.25) or a swapped nibble order still fails.
    /// </summary>
    public const double QuantizedGemm = 2e-3;

    /// <summary>
    /// FP8 codes of ActQuantFp8, compared decoded: a device that computes x * (1/s) instead of
    /// x / s can round a code the other way when x / s lies within an ulp of a rounding midpoint
    /// (about one element in a million). 1e-5 admits a few such codes; rounding by truncation
    /// (NMSE ~3e-3) or a wrong scale fails.
    /// </summary>
    public const double Fp8Codes = 1e-5;

    /// <summary>
    /// Selection-score gap below which two experts count as tied: routing of such a token may
    /// legitimately differ, so it is regenerated or skipped (TileKernels regenerates below 2e-6).
    /// </summary>
    public const double ExpertGap = 2e-6;

    /// <summary>Group-score gap below which two groups count as tied (TileKernels: 1e-6).</summary>
    public const double GroupGap = 1e-6;
}
