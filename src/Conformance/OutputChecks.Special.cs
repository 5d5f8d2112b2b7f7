using Accel.Types;

namespace Accel.Conformance;

/// <summary>
/// GroupLimitMask's output [T, E]: for every decided token the -inf pattern (the groups dropped)
/// must match the reference, and the kept scores must agree within the tolerance. -inf is the
/// only non-finite value allowed, and only where the reference has it; NaN always fails.
/// </summary>
/// <param name="Value">The masked scores output.</param>
/// <param name="Tolerance">Largest NMSE of the kept scores.</param>
public sealed record MaskedScoresCheck(string Value, double Tolerance) : OutputCheck(Value, Tolerance)
{
    /// <inheritdoc/>
    public override string Metric => "mask+nmse";

    /// <inheritdoc/>
    public override CheckOutcome Evaluate(CheckContext context)
    {
        var actual = context.Actual[Value];
        var expected = context.Expected[Value];
        if (ShapeMismatch(actual, expected) is { } bad)
        {
            return bad;
        }

        float[] a = actual.ToF32(), e = expected.ToF32();
        int experts = (int)actual.Shape[1];
        for (int i = 0; i < a.Length; i++)
        {
            bool aMasked = float.IsNegativeInfinity(a[i]), eMasked = float.IsNegativeInfinity(e[i]);
            if (!context.IsDecided(i / experts) || (aMasked && eMasked))
            {
                continue;
            }

            if (aMasked != eMasked || !float.IsFinite(a[i]))
            {
                return new CheckOutcome(double.PositiveInfinity, false,
                    $"token {i / experts}, expert {i % experts}: device {a[i]}, reference {e[i]} (the kept groups differ or a value is not finite)");
            }
        }

        var fa = new List<float>();
        var fe = new List<float>();
        int worst = -1;
        for (int i = 0; i < a.Length; i++)
        {
            if (context.IsDecided(i / experts) && float.IsFinite(e[i]))
            {
                fa.Add(a[i]);
                fe.Add(e[i]);
                if (worst < 0 || Math.Abs(a[i] - e[i]) > Math.Abs(a[worst] - e[worst])) { worst = i; }
            }
        }

        double nmse = Metrics.Nmse(fa.ToArray(), fe.ToArray());
        string skipped = context.Skipped > 0 ? $"{context.Skipped} token(s) skipped (group gap within the margin)" : "";
        return new CheckOutcome(nmse, nmse <= Tolerance, nmse <= Tolerance
            ? skipped
            : $"worst {Value}{At(worst, actual.Shape)}: device {a[worst]:G9}, reference {e[worst]:G9}");
    }
}

/// <summary>
/// BuildPermutation's three outputs, checked by what they must satisfy rather than by equality:
/// every (t, j) gets a distinct row inside its expert's segment [off[e], off[e] + cnt[e]),
/// pos_to_token / pos_to_slot invert token_slot_to_pos, and every other row holds -1. The order
/// inside a segment is only recommended by the spec (ascending (t, j)), so another order passes.
/// </summary>
/// <param name="PosToToken">The pos_to_token output.</param>
/// <param name="PosToSlot">The pos_to_slot output.</param>
/// <param name="TokenSlotToPos">The token_slot_to_pos output.</param>
/// <param name="Ids">The topk_ids input [T, K].</param>
/// <param name="Offsets">The offsets input [E + 1].</param>
public sealed record PermutationCheck(string PosToToken, string PosToSlot, string TokenSlotToPos, string Ids, string Offsets)
    : OutputCheck(TokenSlotToPos, Tolerances.Exact)
{
    /// <inheritdoc/>
    public override string Metric => "permutation";

    /// <inheritdoc/>
    public override CheckOutcome Evaluate(CheckContext context)
    {
        foreach (string name in new[] { PosToToken, PosToSlot, TokenSlotToPos })
        {
            if (ShapeMismatch(context.Actual[name], context.Expected[name]) is { } bad)
            {
                return bad with { Detail = $"{name}: {bad.Detail}" };
            }
        }

        int[] ids = context.Inputs[Ids].ToI32(), off = context.Inputs[Offsets].ToI32();
        int[] ptt = context.Actual[PosToToken].ToI32(), pts = context.Actual[PosToSlot].ToI32();
        int[] tsp = context.Actual[TokenSlotToPos].ToI32();
        int k = (int)context.Inputs[Ids].Shape[1];
        int experts = off.Length - 1;
        var fill = new int[experts];
        foreach (int e in ids) { fill[e]++; }
        var used = new bool[ptt.Length];
        var problems = new List<string>();
        for (int p = 0; p < tsp.Length; p++)
        {
            int t = p / k, j = p % k, e = ids[p], r = tsp[p];
            if (r < off[e] || r >= off[e] + fill[e] || r >= ptt.Length)
            {
                problems.Add($"token {t} slot {j} (expert {e}) got row {r}, outside [{off[e]}, {off[e] + fill[e]})");
            }
            else if (used[r])
            {
                problems.Add($"row {r} is given to two (token, slot) pairs");
            }
            else
            {
                used[r] = true;
                if (ptt[r] != t || pts[r] != j)
                {
                    problems.Add($"row {r}: pos_to_token/pos_to_slot = ({ptt[r]}, {pts[r]}) but token_slot_to_pos says ({t}, {j})");
                }
            }
        }

        for (int r = 0; r < ptt.Length; r++)
        {
            if (!used[r] && (ptt[r] != -1 || pts[r] != -1))
            {
                problems.Add($"padding row {r} holds ({ptt[r]}, {pts[r]}) instead of (-1, -1)");
            }
        }

        bool sameOrder = context.Actual[TokenSlotToPos].ReadOnlyBytes.SequenceEqual(context.Expected[TokenSlotToPos].ReadOnlyBytes);
        string note = problems.Count > 0
            ? $"{problems.Count} problem(s); first: {problems[0]}"
            : sameOrder ? "" : "valid; the order inside segments differs from the reference (allowed)";
        return new CheckOutcome(problems.Count, problems.Count == 0, note);
    }
}

/// <summary>FP8 e4m3 codes compared decoded (without their scale) by NMSE; NaN codes fail.</summary>
/// <param name="Value">The codes output.</param>
/// <param name="Tolerance">Largest NMSE that passes.</param>
public sealed record Fp8CodesCheck(string Value, double Tolerance) : OutputCheck(Value, Tolerance)
{
    /// <inheritdoc/>
    public override string Metric => "nmse(e4m3)";

    /// <inheritdoc/>
    public override CheckOutcome Evaluate(CheckContext context) => CompareDecoded(context, _ => true);
}
