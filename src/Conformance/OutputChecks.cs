using Accel.Types;

namespace Accel.Conformance;

/// <summary>What a check sees: the case's inputs, both runs' outputs and the decided tokens.</summary>
public sealed class CheckContext
{
    /// <summary>The case inputs and weights by name.</summary>
    public required IReadOnlyDictionary<string, HostTensor> Inputs { get; init; }

    /// <summary>The device's outputs by name.</summary>
    public required IReadOnlyDictionary<string, HostTensor> Actual { get; init; }

    /// <summary>The reference's outputs by name.</summary>
    public required IReadOnlyDictionary<string, HostTensor> Expected { get; init; }

    /// <summary>Per token: routing decided by more than the margin (null: every token).</summary>
    public bool[]? Decided { get; init; }

    /// <summary>Tokens left out of per-token checks.</summary>
    public int Skipped => Decided?.Count(d => !d) ?? 0;

    /// <summary>Whether token <paramref name="t"/> takes part in per-token checks.</summary>
    public bool IsDecided(int t) => Decided is null || t >= Decided.Length || Decided[t];
}

/// <summary>The result of one check: the error, whether it is within the tolerance, and what went wrong.</summary>
/// <param name="Error">The metric's value (NMSE, or a count of mismatches).</param>
/// <param name="Passed">Within the tolerance.</param>
/// <param name="Detail">The first problem found, or a note.</param>
public readonly record struct CheckOutcome(double Error, bool Passed, string Detail);

/// <summary>A comparison of one output of the device with the reference.</summary>
/// <param name="Value">The output value's name.</param>
/// <param name="Tolerance">The largest error that passes.</param>
public abstract record OutputCheck(string Value, double Tolerance)
{
    /// <summary>Short name of the metric (<c>nmse</c>, <c>exact</c>, ...).</summary>
    public abstract string Metric { get; }

    /// <summary>Compares the device's output with the reference's.</summary>
    public abstract CheckOutcome Evaluate(CheckContext context);

    /// <summary>Fails when the shapes or dtypes differ.</summary>
    protected static CheckOutcome? ShapeMismatch(HostTensor actual, HostTensor expected) =>
        actual.Type == expected.Type && actual.Shape == expected.Shape
            ? null
            : new CheckOutcome(double.PositiveInfinity, false, $"device returned {actual}, reference {expected}");

    /// <summary>The first non-finite value, as a sentence, or null.</summary>
    protected static string? NonFinite(float[] values, Shape shape, string name)
    {
        int i = FiniteScan.FirstNonFinite(values);
        return i < 0 ? null : $"{name}{At(i, shape)} is {values[i]} (non-finite outputs fail)";
    }

    /// <summary>Formats a flat index as <c>[row, col]</c>.</summary>
    protected static string At(long index, Shape shape)
    {
        long cols = shape.Rank >= 2 ? shape.Elements / Math.Max(shape[0], 1) : 1;
        return shape.Rank >= 2 ? $"[{index / cols}, {index % cols}]" : $"[{index}]";
    }

    /// <summary>
    /// The output <see cref="Value"/> and its reference, both decoded to fp32, by NMSE over the rows
    /// <paramref name="rowIncluded"/> keeps; a shape or dtype mismatch and any non-finite value fail.
    /// </summary>
    protected CheckOutcome CompareDecoded(CheckContext context, Func<int, bool> rowIncluded)
    {
        var actual = context.Actual[Value];
        var expected = context.Expected[Value];
        if (ShapeMismatch(actual, expected) is { } bad)
        {
            return bad;
        }

        var a = actual.ToF32();
        if (NonFinite(a, actual.Shape, Value) is { } nf)
        {
            return new CheckOutcome(double.PositiveInfinity, false, nf);
        }

        return CompareFloats(a, expected.ToF32(), actual.Shape, Value, Tolerance, rowIncluded);
    }

    /// <summary>NMSE over the elements of the decided rows, with the worst element named.</summary>
    protected static CheckOutcome CompareFloats(float[] a, float[] e, Shape shape, string name, double tolerance,
        Func<int, bool> rowIncluded)
    {
        long rows = shape.Rank == 0 ? 1 : shape[0];
        int cols = rows == 0 ? 0 : (int)(shape.Elements / rows);
        var sa = new List<float>(a.Length);
        var se = new List<float>(e.Length);
        int worst = -1;
        double worstDiff = -1;
        for (int i = 0; i < a.Length; i++)
        {
            if (cols > 0 && !rowIncluded(i / cols))
            {
                continue;
            }

            sa.Add(a[i]);
            se.Add(e[i]);
            double d = Math.Abs((double)a[i] - e[i]);
            if (d > worstDiff) { worstDiff = d; worst = i; }
        }

        double nmse = Metrics.Nmse(sa.ToArray(), se.ToArray());
        bool ok = nmse <= tolerance;
        string detail = ok || worst < 0 ? "" : $"worst {name}{At(worst, shape)}: device {a[worst]:G9}, reference {e[worst]:G9}";
        return new CheckOutcome(nmse, ok, detail);
    }
}

/// <summary>NMSE of a float output; non-finite values fail.</summary>
/// <param name="Value">The output.</param>
/// <param name="Tolerance">Largest NMSE that passes.</param>
/// <param name="PerToken">Rows are tokens: leave out tokens whose routing is undecided.</param>
public sealed record NmseCheck(string Value, double Tolerance, bool PerToken = false) : OutputCheck(Value, Tolerance)
{
    /// <inheritdoc/>
    public override string Metric => "nmse";

    /// <inheritdoc/>
    public override CheckOutcome Evaluate(CheckContext context) => CompareDecoded(context, r => !PerToken || context.IsDecided(r));
}

/// <summary>Integer outputs must be identical.</summary>
/// <param name="Value">The output.</param>
public sealed record ExactCheck(string Value) : OutputCheck(Value, Tolerances.Exact)
{
    /// <inheritdoc/>
    public override string Metric => "exact";

    /// <inheritdoc/>
    public override CheckOutcome Evaluate(CheckContext context)
    {
        var actual = context.Actual[Value];
        var expected = context.Expected[Value];
        if (ShapeMismatch(actual, expected) is { } bad)
        {
            return bad;
        }

        int[] a = actual.ToI32(), e = expected.ToI32();
        int mismatches = 0, first = -1;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != e[i])
            {
                mismatches++;
                if (first < 0) { first = i; }
            }
        }

        return new CheckOutcome(mismatches, mismatches == 0, mismatches == 0 ? "" :
            $"{mismatches} of {a.Length} differ; first {Value}{At(first, actual.Shape)}: device {a[first]}, reference {e[first]}");
    }
}

/// <summary>Expert ids [T, K] compared as a set per token, for the tokens whose routing is decided.</summary>
/// <param name="Value">The ids output.</param>
public sealed record RoutingSetCheck(string Value) : OutputCheck(Value, Tolerances.Exact)
{
    /// <inheritdoc/>
    public override string Metric => "sets";

    /// <inheritdoc/>
    public override CheckOutcome Evaluate(CheckContext context)
    {
        var actual = context.Actual[Value];
        var expected = context.Expected[Value];
        if (ShapeMismatch(actual, expected) is { } bad)
        {
            return bad;
        }

        int tokens = (int)actual.Shape[0], k = (int)actual.Shape[1];
        int[] a = actual.ToI32(), e = expected.ToI32();
        int differ = 0;
        string detail = "";
        for (int t = 0; t < tokens; t++)
        {
            if (!context.IsDecided(t))
            {
                continue;
            }

            var sa = a.AsSpan(t * k, k).ToArray().Order().ToArray();
            var se = e.AsSpan(t * k, k).ToArray().Order().ToArray();
            if (!sa.SequenceEqual(se))
            {
                if (differ++ == 0)
                {
                    detail = $"token {t}: device {{{string.Join(",", sa)}}}, reference {{{string.Join(",", se)}}}";
                }
            }
        }

        if (context.Skipped > 0)
        {
            detail = $"{detail}{(detail.Length > 0 ? "; " : "")}{context.Skipped} token(s) skipped (selection gap within the margin)";
        }

        return new CheckOutcome(differ, differ == 0, detail);
    }
}

/// <summary>
/// Routing weights [T, K] compared after sorting each row by expert id on both sides (a device may
/// list a token's experts in another order), over decided tokens whose id sets agree.
/// </summary>
/// <param name="Value">The weights output.</param>
/// <param name="IdsValue">The ids output the weights belong to.</param>
/// <param name="Tolerance">Largest NMSE that passes.</param>
public sealed record RoutingWeightsCheck(string Value, string IdsValue, double Tolerance) : OutputCheck(Value, Tolerance)
{
    /// <inheritdoc/>
    public override string Metric => "nmse";

    /// <inheritdoc/>
    public override CheckOutcome Evaluate(CheckContext context)
    {
        var actual = context.Actual[Value];
        if (ShapeMismatch(actual, context.Expected[Value]) is { } bad)
        {
            return bad;
        }

        var (ia, wa) = Sorted(context.Actual);
        var (ie, we) = Sorted(context.Expected);
        if (NonFinite(wa, actual.Shape, Value) is { } nf)
        {
            return new CheckOutcome(double.PositiveInfinity, false, nf);
        }

        int k = (int)actual.Shape[1];
        bool Same(int t) => k == 0 || ia.AsSpan(t * k, k).SequenceEqual(ie.AsSpan(t * k, k));
        return CompareFloats(wa, we, actual.Shape, Value, Tolerance, t => context.IsDecided(t) && Same(t));
    }

    private (int[] Ids, float[] Weights) Sorted(IReadOnlyDictionary<string, HostTensor> outputs)
    {
        var ids = outputs[IdsValue].ToI32();
        var w = outputs[Value].ToF32();
        int k = (int)outputs[Value].Shape[1];
        for (int r = 0; k > 0 && r + k <= ids.Length; r += k)
        {
            ids.AsSpan(r, k).Sort(w.AsSpan(r, k));
        }

        return (ids, w);
    }
}
