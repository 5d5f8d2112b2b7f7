using System.Globalization;
using Accel.Errors;
using Accel.Moe;

namespace Accel.Cli.Bench;

/// <summary>
/// The memory guard of <c>accel bench</c>: before any weight is made, the host memory the layer
/// will need is compared with what the machine has available, so a layer too large fails with an
/// error that says what to change instead of the process being killed.
/// </summary>
/// <remarks>
/// The estimate is twice the stored layer plus its largest matrix and a fixed allowance (1.25 GiB): while
/// loading, the synthetic checkpoint and the loader's stacked [E, out, in] copy are alive together;
/// after loading, the checkpoint is dropped and the stacked host tensors stay (the session keeps
/// them) beside the device's copy, which the cpu backend holds in host memory and rewrites into its
/// panel layout in place, one matrix of scratch at a time. Weights of nodes that fall back to the
/// reference backend get one more copy, which cannot be known before placement and is not counted.
/// </remarks>
public static class BenchMemory
{
    /// <summary>Allowance for the runtime, activations, scratch and the machine probe's 512 MiB buffer.</summary>
    public const long Allowance = 1280L << 20;

    /// <summary>Bytes the layer stores (weights and scales) in the chosen format.</summary>
    public static long StoredBytes(BenchOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return SyntheticCheckpoint.StoredBytes(o.Config(), o.Layer, o.Weights);
    }

    /// <summary>Host bytes the run needs at its peak (see the remarks on <see cref="BenchMemory"/>).</summary>
    public static long NeededBytes(BenchOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        var plan = SyntheticCheckpoint.Plan(o.Config(), o.Layer, o.Weights);
        return 2 * StoredBytes(o) + plan.Max(t => t.DataBytes) + Allowance;
    }

    /// <summary>MemAvailable from /proc/meminfo in bytes, or null where the file is absent or unreadable.</summary>
    public static long? AvailableBytes(string path = "/proc/meminfo")
    {
        try
        {
            foreach (string line in File.ReadLines(path))
            {
                if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }

        return null;
    }

    /// <summary>
    /// Throws when the layer cannot be held: a stacked projection larger than one host tensor can be,
    /// or more memory needed than <paramref name="available"/> bytes (no memory check when null).
    /// </summary>
    /// <exception cref="AccelException">The layer does not fit; the message gives the figures and what to change.</exception>
    public static void Check(BenchOptions o, long? available)
    {
        ArgumentNullException.ThrowIfNull(o);
        var config = o.Config();
        var plan = SyntheticCheckpoint.Plan(config, o.Layer, o.Weights);
        string expert0 = MoeWeightNames.HfExpert(config.Family, o.Layer, 0, "up");
        long perExpertMatrix = plan.Where(t => t.Name == expert0).Sum(t => t.DataBytes);
        long stacked = perExpertMatrix * config.Experts;
        string narrower = o.Weights switch
        {
            SyntheticFormat.F32 => "a narrower format (--weights bf16, fp8 or fp4)",
            SyntheticFormat.BF16 => "a narrower format (--weights fp8 or fp4)",
            SyntheticFormat.Fp8 => "a narrower format (--weights fp4)",
            _ => "a smaller --hidden or --expert-width",
        };
        if (stacked > Array.MaxLength)
        {
            throw new AccelException(
                $"accel bench cannot hold this layer: each stacked routed projection [{config.Experts}, {config.ExpertWidth}, {config.Hidden}] " +
                $"in {Name(o.Weights)} is {Gb(stacked)} GB, more than one host tensor holds ({Gb(Array.MaxLength)} GB). " +
                $"Use at most --experts {Array.MaxLength / Math.Max(1, perExpertMatrix)}, or {narrower}.");
        }

        var largest = plan.MaxBy(t => t.DataBytes)!;
        if (largest.DataBytes > Array.MaxLength)
        {
            throw new AccelException(
                $"accel bench cannot hold this layer: '{largest.Name}' [{largest.Out}, {largest.In}] in {Name(o.Weights)} is " +
                $"{Gb(largest.DataBytes)} GB, more than one host tensor holds ({Gb(Array.MaxLength)} GB). Use fewer --shared-experts, or {narrower}.");
        }

        long need = NeededBytes(o);
        if (available is not { } have || need <= have)
        {
            return;
        }

        long perExpert = 2 * (StoredBytes(o) - StoredBytes(o with { Experts = Math.Max(1, o.Experts - 1) }));
        long fits = perExpert <= 0 ? 0 : Math.Max(0, o.Experts - (need - have + perExpert - 1) / perExpert);
        throw new AccelException(
            $"accel bench needs about {Gb(need)} GB of host memory for this layer ({config.Experts} experts of {config.Hidden}x{config.ExpertWidth}, " +
            $"{Name(o.Weights)} weights, {Gb(StoredBytes(o))} GB stored: the synthetic checkpoint and the loader's stacked copy while loading, " +
            $"then the stacked weights beside the device's copy), but this machine has {Gb(have)} GB available (MemAvailable in /proc/meminfo). " +
            (fits >= Math.Max(1, o.TopK) ? $"Use fewer experts (--experts {fits} fits), " : "Use fewer experts, ") +
            $"{narrower}, or fewer --shared-experts; or free memory and run again.");
    }

    private static string Name(SyntheticFormat f) => f.ToString().ToLowerInvariant();

    private static string Gb(long bytes) => (bytes / 1e9).ToString("0.0", CultureInfo.InvariantCulture);
}
