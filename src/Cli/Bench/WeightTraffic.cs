using Accel.Moe;
using Accel.Types;
using N = Accel.Moe.MoeWeightNames;

namespace Accel.Cli.Bench;

/// <summary>
/// Bytes of weights one layer run reads, counted per tensor from the stored sizes (data and scales):
/// the router (weight and selection bias), the routed experts the run touched, the shared expert
/// (and its gate). A stacked routed tensor [E, ...] counts E-th part per touched expert. A hash
/// layer's table is not counted (the bench measures scored layers).
/// </summary>
public static class WeightTraffic
{
    /// <summary>From loaded weights (keyed by <see cref="MoeWeightNames"/>).</summary>
    public static long Bytes(IReadOnlyDictionary<string, HostTensor> weights, MoeConfig config, int touched)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        CheckTouched(config, touched);
        long bytes = 0;
        foreach (var (name, t) in weights)
        {
            long size = t.ReadOnlyBytes.Length;
            bool routed = N.Projections.Any(p => name == N.Experts(p) || name == N.ExpertsScale(p));
            if (routed)
            {
                bytes += size / config.Experts * touched;
            }
            else if (name != N.HashTable)
            {
                bytes += size;
            }
        }

        return bytes;
    }

    /// <summary>From the tensors <see cref="SyntheticCheckpoint"/> would make (no weights generated).</summary>
    public static long Bytes(MoeConfig config, int layer, SyntheticFormat format, int touched)
    {
        ArgumentNullException.ThrowIfNull(config);
        CheckTouched(config, touched);
        var routed = new HashSet<string>(StringComparer.Ordinal);
        for (int e = 0; e < config.Experts; e++)
        {
            foreach (string p in N.Projections) { routed.Add(N.HfExpert(config.Family, layer, e, p)); }
        }

        var touchedNames = Enumerable.Range(0, touched)
            .SelectMany(e => N.Projections.Select(p => N.HfExpert(config.Family, layer, e, p))).ToHashSet(StringComparer.Ordinal);
        return SyntheticCheckpoint.Plan(config, layer, format)
            .Where(t => !routed.Contains(t.Name) || touchedNames.Contains(t.Name))
            .Sum(t => t.DataBytes + t.ScaleBytes);
    }

    private static void CheckTouched(MoeConfig config, int touched) =>
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)touched, (uint)config.Experts, nameof(touched));
}
