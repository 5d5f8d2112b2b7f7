using Accel.Graph;
using Accel.Types;

namespace Accel.Conformance;

/// <summary>
/// A case made concrete: the graph (one node, or a whole layer), its weights and inputs generated
/// from the case seed, and the checks that compare the device's outputs with the reference's.
/// </summary>
public sealed class CaseProblem
{
    /// <summary>The graph to run on both backends.</summary>
    public required Graph.Graph Graph { get; init; }

    /// <summary>Weights by name.</summary>
    public required IReadOnlyDictionary<string, HostTensor> Weights { get; init; }

    /// <summary>Per-run inputs by name.</summary>
    public required IReadOnlyDictionary<string, HostTensor> Inputs { get; init; }

    /// <summary>One check per compared output.</summary>
    public required IReadOnlyList<OutputCheck> Checks { get; init; }

    /// <summary>Where routing is compared only for tokens with a clear selection gap; null when it is exact.</summary>
    public RoutingMargin? Margin { get; init; }
}

/// <summary>
/// Which tokens have a routing decision that rounding cannot flip: the gap between the K-th and
/// (K+1)-th selection score (and between the Gk-th and (Gk+1)-th group score) must exceed a
/// margin (moe-spec section 5, oracle notes). Other tokens are regenerated, then skipped.
/// </summary>
/// <param name="ScoresValue">The selection scores [T, E] before any group mask: an input, or a value the reference run also returns.</param>
/// <param name="K">Experts per token (0: check the group gap only).</param>
/// <param name="Groups">Expert groups G (1: no group-limited routing).</param>
/// <param name="TopGroups">Groups kept per token.</param>
/// <param name="GroupScore">How a group is scored.</param>
public sealed record RoutingMargin(string ScoresValue, int K, int Groups = 1, int TopGroups = 1, GroupScore GroupScore = GroupScore.Max)
{
    /// <summary>Minimum expert-score gap.</summary>
    public double ExpertGap { get; init; } = Tolerances.ExpertGap;

    /// <summary>Minimum group-score gap.</summary>
    public double GroupGap { get; init; } = Tolerances.GroupGap;

    /// <summary>Per token: true when its routing is decided by more than the margins.</summary>
    public bool[] Decide(HostTensor scores)
    {
        int experts = (int)scores.Shape[1];
        int tokens = (int)scores.Shape[0];
        var q = scores.ToF32();
        var decided = new bool[tokens];
        for (int t = 0; t < tokens; t++)
        {
            decided[t] = IsDecided(q.AsSpan(t * experts, experts));
        }

        return decided;
    }

    private bool IsDecided(ReadOnlySpan<float> q)
    {
        int experts = q.Length;
        var candidates = new List<float>(experts);
        if (Groups > 1 && TopGroups < Groups)
        {
            int per = experts / Groups;
            var gs = new (double Score, int Group)[Groups];
            for (int g = 0; g < Groups; g++)
            {
                var s = q.Slice(g * per, per).ToArray().OrderByDescending(v => v).ToArray();
                gs[g] = (GroupScore == GroupScore.Max ? s[0] : (double)s[0] + s[1], g);
            }

            var order = gs.OrderByDescending(x => x.Score).ThenBy(x => x.Group).ToArray();
            if (!(order[TopGroups - 1].Score - order[TopGroups].Score > GroupGap))
            {
                return false;
            }

            foreach (var (_, g) in order.Take(TopGroups))
            {
                for (int i = 0; i < per; i++) { candidates.Add(q[g * per + i]); }
            }
        }
        else
        {
            candidates.AddRange(q.ToArray());
        }

        if (K <= 0 || K >= candidates.Count)
        {
            return true;
        }

        candidates.Sort((a, b) => b.CompareTo(a));
        double gap = (double)candidates[K - 1] - candidates[K];
        return gap > ExpertGap; // a finite score above -inf gives +inf; two -inf give NaN (undecided)
    }
}
