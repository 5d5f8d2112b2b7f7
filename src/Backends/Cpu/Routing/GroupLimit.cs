using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Accel.Graph;

namespace Accel.Backends.Cpu.Routing;

/// <summary>
/// OP-5 on one row: each of the G groups of E/G experts is scored by its largest value or the sum
/// of its two largest (the two largest of a group may be equal), NaN values left out (a group of
/// NaN only scores -inf); the Gk best groups are kept, ties to the smaller group (a NaN group
/// score, from +inf plus -inf, ranks last), and every value outside them becomes -inf.
/// </summary>
internal static unsafe class GroupLimit
{
    /// <summary>Ints of scratch memory one row needs (group scores, kept groups and the selector's keys).</summary>
    public static int ScratchInts(int groups, bool wide) => 2 * groups + TopKSelector.ScratchInts(groups, wide);

    /// <summary>Masks one row of <paramref name="experts"/> values from <paramref name="q"/> into <paramref name="result"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(float* q, float* result, int experts, int groups, int topGroups, GroupScore score,
        int* scratch, bool wide)
    {
        if (topGroups >= groups)
        {
            // Every group kept: the row passes unchanged.
            new ReadOnlySpan<float>(q, experts).CopyTo(new Span<float>(result, experts));
            return;
        }

        int per = experts / groups;
        float* gs = (float*)scratch;
        int* kept = scratch + groups;
        bool vector = per % Lanes.Width(wide) == 0;
        for (int g = 0; g < groups; g++)
        {
            float* v = q + g * per;
            gs[g] = !vector ? Scalar(v, per, score) : wide ? Wide(v, per, score) : Portable(v, per, score);
        }

        TopKSelector.Select(gs, groups, topGroups, kept, scratch + 2 * groups, wide);
        new Span<float>(result, experts).Fill(float.NegativeInfinity);
        for (int j = 0; j < topGroups; j++)
        {
            int g = kept[j];
            new ReadOnlySpan<float>(q + g * per, per).CopyTo(new Span<float>(result + g * per, per));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Scalar(float* v, int n, GroupScore score)
    {
        float best = float.NegativeInfinity, second = float.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            float x = float.IsNaN(v[i]) ? float.NegativeInfinity : v[i];
            second = Math.Max(second, Math.Min(best, x));
            best = Math.Max(best, x);
        }

        return score == GroupScore.Max ? best : best + second;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Wide(float* v, int n, GroupScore score)
    {
        var ninf = Vector512.Create(float.NegativeInfinity);
        Vector512<float> best = ninf, second = ninf;
        for (int i = 0; i < n; i += 16)
        {
            var x = Vector512.Load(v + i);
            x = Vector512.ConditionalSelect(Vector512.Equals(x, x), x, ninf);
            second = Vector512.MaxNative(second, Vector512.MinNative(best, x));
            best = Vector512.MaxNative(best, x);
        }

        float top = Lanes.Max(best);
        if (score == GroupScore.Max)
        {
            return top;
        }

        // The runner-up is the larger of every lane's second and every lane's best but one lane holding the top.
        int lane = Vector512.IndexOf(best, top);
        var others = Vector512.ConditionalSelect(Vector512.Equals(Vector512<int>.Indices, Vector512.Create(lane)).AsSingle(), ninf, best);
        return top + Lanes.Max(Vector512.MaxNative(others, second));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Portable(float* v, int n, GroupScore score)
    {
        var ninf = new Vector<float>(float.NegativeInfinity);
        Vector<float> best = ninf, second = ninf;
        for (int i = 0; i < n; i += Vector<float>.Count)
        {
            var x = Vector.Load(v + i);
            x = Vector.ConditionalSelect(Vector.Equals(x, x), x, ninf);
            second = Vector.MaxNative(second, Vector.MinNative(best, x));
            best = Vector.MaxNative(best, x);
        }

        // Lane-wise (best, second) pairs merged into the row's two largest.
        float top = float.NegativeInfinity, runnerUp = float.NegativeInfinity;
        for (int l = 0; l < Vector<float>.Count; l++)
        {
            float b = best[l];
            runnerUp = Math.Max(Math.Max(runnerUp, second[l]), Math.Min(top, b));
            top = Math.Max(top, b);
        }

        return score == GroupScore.Max ? top : top + runnerUp;
    }
}
