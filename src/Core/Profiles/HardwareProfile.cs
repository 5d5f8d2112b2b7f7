using Accel.Types;

namespace Accel.Profiles;

/// <summary>
/// One device shape, loaded from <c>hw-profiles/&lt;id&gt;.json</c>: who makes it, which shim and
/// execution targets run it, its compute and memory figures (each with a source), dtype support and
/// legalisation, kernel parameters and the rules that recognise it at run time. Immutable and
/// compared by value.
/// </summary>
/// <param name="Id">Lower-case id (<see cref="IdPattern"/>), e.g. <c>ascend-910b</c>.</param>
/// <param name="Description">Optional one-line description.</param>
/// <param name="Identity">Vendor, family and model.</param>
/// <param name="Shim">The vendor shim, or <see cref="ShimKind.None"/>.</param>
/// <param name="Targets">Execution targets in order of preference; never empty.</param>
/// <param name="Compute">Compute units, warp width, clock.</param>
/// <param name="Memory">On-chip sizes, device memory, bandwidth, alignment.</param>
/// <param name="Peaks">Peak throughput per supported dtype (figures may be unknown).</param>
/// <param name="DTypes">Supported dtypes and legalisation rules.</param>
/// <param name="Kernels">GEMM tile, reduction group size and CPU-emulation geometry.</param>
/// <param name="Match">Auto-detection rules; empty when the profile is only chosen by id.</param>
/// <param name="Notes">Free-text notes (known limits and the like).</param>
public sealed record HardwareProfile(
    string Id,
    string? Description,
    DeviceIdentity Identity,
    ShimKind Shim,
    ValueList<ExecutionTarget> Targets,
    ComputeSpec Compute,
    MemorySpec Memory,
    ValueList<DTypePeak> Peaks,
    DTypeSupport DTypes,
    KernelParameters Kernels,
    ValueList<MatchRule> Match,
    ValueList<string> Notes)
{
    /// <summary>
    /// The pattern every profile id matches: lower-case letters, digits and '-', not starting with '-'.
    /// </summary>
    public const string IdPattern = "^[a-z0-9][a-z0-9-]*$";

    /// <summary>The peak throughput figure for <paramref name="dtype"/>, or null when the profile lists none.</summary>
    public Figure? PeakFor(DType dtype) => Peaks.FirstOrDefault(p => p.DType == dtype)?.Throughput;

    /// <summary>True when <paramref name="id"/> matches <see cref="IdPattern"/>.</summary>
    public static bool IsValidId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id[0] == '-')
        {
            return false;
        }

        foreach (var c in id)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The id, e.g. <c>ascend-910b</c>.</summary>
    public override string ToString() => Id;
}

/// <summary>Who makes the device and what it is called.</summary>
/// <param name="Vendor">E.g. <c>Huawei</c>.</param>
/// <param name="Family">E.g. <c>Ascend A2 (910B)</c>.</param>
/// <param name="Model">E.g. <c>Ascend 910B2</c>.</param>
public sealed record DeviceIdentity(string Vendor, string Family, string Model);

/// <summary>Compute figures.</summary>
/// <param name="Units">Compute units (SMs, CUs, AI cores, MLU cores); the unit names them.</param>
/// <param name="WarpWidth">Threads per warp / wavefront; null value where the device has none.</param>
/// <param name="Clock">Optional clock figure.</param>
public sealed record ComputeSpec(Figure Units, Figure WarpWidth, Figure? Clock);

/// <summary>One on-chip memory (L1, UB, shared memory, NRAM, L2 ...).</summary>
/// <param name="Name">The key in the file, e.g. <c>ub</c>.</param>
/// <param name="Scope">Optional scope, e.g. <c>per vector core</c>.</param>
/// <param name="Size">The size figure.</param>
public sealed record OnChipMemory(string Name, string? Scope, Figure Size);

/// <summary>Memory figures.</summary>
/// <param name="OnChip">On-chip memories in file order.</param>
/// <param name="DeviceBytes">Device (global) memory size.</param>
/// <param name="Bandwidth">Device memory bandwidth.</param>
/// <param name="AlignmentBytes">Required buffer alignment; a power of two where known.</param>
public sealed record MemorySpec(
    ValueList<OnChipMemory> OnChip,
    Figure DeviceBytes,
    Figure Bandwidth,
    Figure AlignmentBytes)
{
    /// <summary>The on-chip memory named <paramref name="name"/>, or null.</summary>
    public OnChipMemory? FindOnChip(string name) => OnChip.FirstOrDefault(m => m.Name == name);

    /// <summary>Device memory in bytes; null where unknown (then no limit is applied).</summary>
    public long? DeviceMemoryBytes => DeviceBytes.BaseValueAsInt64;

    /// <summary>The alignment to pad buffers to: the stated value, or 1 where it is unknown.</summary>
    public int EffectiveAlignment => (int)(AlignmentBytes.BaseValueAsInt64 ?? 1);
}

/// <summary>Peak throughput for one dtype.</summary>
/// <param name="DType">The dtype.</param>
/// <param name="Throughput">Operations per second (FLOP/s or OP/s) as a figure.</param>
public sealed record DTypePeak(DType DType, Figure Throughput);

/// <summary>Which dtypes a device runs natively and what to do with the others.</summary>
/// <param name="Supported">Dtypes the device runs natively.</param>
/// <param name="Legalize">Rules for dtypes outside <paramref name="Supported"/>, in file order.</param>
/// <param name="Source">Where the dtype list comes from.</param>
public sealed record DTypeSupport(DTypeSet Supported, ValueList<LegalizationRule> Legalize, string Source)
{
    /// <summary>The rule for <paramref name="dtype"/>, or null when it is supported or has no rule.</summary>
    public LegalizationRule? RuleFor(DType dtype) => Legalize.FirstOrDefault(r => r.From == dtype);
}

/// <summary>
/// A legalisation rule: ops on <see cref="From"/> are rewritten to <see cref="To"/>, or, where
/// <see cref="To"/> is null (<c>"fallback"</c> in the file), run on the next backend in the chain.
/// </summary>
/// <param name="From">An unsupported dtype.</param>
/// <param name="To">A supported dtype to convert to, or null for fallback.</param>
public sealed record LegalizationRule(DType From, DType? To)
{
    /// <summary>True when ops of <see cref="From"/> go to the next backend instead of being converted.</summary>
    public bool IsFallback => To is null;

    /// <summary>E.g. <c>bf16 -&gt; f32</c> or <c>i64 -&gt; fallback</c>.</summary>
    public override string ToString() => $"{From.ShortName()} -> {To?.ShortName() ?? "fallback"}";
}
