using System.Reflection;
using Accel.Types;

namespace Accel.Kernels;

/// <summary>How a weight is stored, as the kernels see it (dtype plus scale dtype).</summary>
public enum WeightFormat
{
    /// <summary>fp32.</summary>
    F32,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>IEEE binary16.</summary>
    F16,
    /// <summary>FP8 e4m3 with fp32 128x128 block scales.</summary>
    Fp8F32Scale,
    /// <summary>FP8 e4m3 with UE8M0 128x128 block scales.</summary>
    Fp8Ue8m0Scale,
    /// <summary>FP4 e2m1 with UE8M0 1x32 scales.</summary>
    Fp4,
}

/// <summary>
/// Every kernel method the backends load, closed over each shipped specialisation (tile or row
/// group, and weight format). Both the ILGPU backend and the PTX compile test take their kernels
/// from here, so what is tested is what ships.
/// </summary>
public static class KernelCatalog
{
    /// <summary>The formats a dense, unscaled vector or matrix may use (norm weights, router weight, gates).</summary>
    public static IReadOnlyList<WeightFormat> FloatFormats { get; } = [WeightFormat.F32, WeightFormat.BF16, WeightFormat.F16];

    /// <summary>Every weight format.</summary>
    public static IReadOnlyList<WeightFormat> AllFormats { get; } = Enum.GetValues<WeightFormat>();

    /// <summary>The quantised formats (the inputs of the dequantisation ops).</summary>
    public static IReadOnlyList<WeightFormat> QuantizedFormats { get; } =
        [WeightFormat.Fp8F32Scale, WeightFormat.Fp8Ue8m0Scale, WeightFormat.Fp4];

    /// <summary>
    /// The format of a weight of <paramref name="weight"/> dtype with a scale of <paramref name="scale"/>
    /// dtype, or null when no kernel reads that combination.
    /// </summary>
    public static WeightFormat? FormatOf(DType weight, DType? scale) => (weight, scale) switch
    {
        (DType.F32, null) => WeightFormat.F32,
        (DType.BF16, null) => WeightFormat.BF16,
        (DType.F16, null) => WeightFormat.F16,
        (DType.F8E4M3, DType.F32) => WeightFormat.Fp8F32Scale,
        (DType.F8E4M3, DType.UE8M0) => WeightFormat.Fp8Ue8m0Scale,
        (DType.F4E2M1, DType.UE8M0) => WeightFormat.Fp4,
        _ => null,
    };

    /// <summary>The format struct and the element type of its data view.</summary>
    public static (Type Format, Type Element) TypesOf(WeightFormat format) => format switch
    {
        WeightFormat.F32 => (typeof(F32Weights), typeof(float)),
        WeightFormat.BF16 => (typeof(BF16Weights), typeof(ushort)),
        WeightFormat.F16 => (typeof(F16Weights), typeof(ushort)),
        WeightFormat.Fp8F32Scale => (typeof(Fp8F32ScaleWeights), typeof(byte)),
        WeightFormat.Fp8Ue8m0Scale => (typeof(Fp8Ue8m0ScaleWeights), typeof(byte)),
        WeightFormat.Fp4 => (typeof(Fp4Weights), typeof(byte)),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    /// <summary><see cref="GemmKernels.GroupedGemm"/> for a tile and format.</summary>
    public static MethodInfo GroupedGemm(GemmTileSpec tile, WeightFormat format) =>
        Close(typeof(GemmKernels), nameof(GemmKernels.GroupedGemm), tile.Type, TypesOf(format));

    /// <summary><see cref="NormKernels.RmsNorm"/> for a row group and a float format.</summary>
    public static MethodInfo RmsNorm(RowGroupSpec group, WeightFormat format) =>
        Close(typeof(NormKernels), nameof(NormKernels.RmsNorm), group.Type, TypesOf(format));

    /// <summary><see cref="ActivationKernels.ExpertGate"/> for a row group and a float format.</summary>
    public static MethodInfo ExpertGate(RowGroupSpec group, WeightFormat format) =>
        Close(typeof(ActivationKernels), nameof(ActivationKernels.ExpertGate), group.Type, TypesOf(format));

    /// <summary><see cref="QuantKernels.Dequantize"/> for a format.</summary>
    public static MethodInfo Dequantize(WeightFormat format)
    {
        var (f, e) = TypesOf(format);
        return Method(typeof(QuantKernels), nameof(QuantKernels.Dequantize)).MakeGenericMethod(f, e);
    }

    /// <summary>A row-group kernel (RouterScore, TopK, GroupLimitMask, ExclusiveScan, ActQuantFp8) for a group.</summary>
    public static MethodInfo RowKernel(Type owner, string name, RowGroupSpec group) =>
        Method(owner, name).MakeGenericMethod(group.Type);

    /// <summary>A kernel without specialisation.</summary>
    public static MethodInfo Plain(Type owner, string name) => Method(owner, name);

    /// <summary>The row-group kernels, as (owner, name).</summary>
    public static IReadOnlyList<(Type Owner, string Name)> RowKernels { get; } =
    [
        (typeof(RouterKernels), nameof(RouterKernels.RouterScore)),
        (typeof(TopKKernels), nameof(TopKKernels.TopK)),
        (typeof(TopKKernels), nameof(TopKKernels.GroupLimitMask)),
        (typeof(DispatchKernels), nameof(DispatchKernels.ExclusiveScan)),
        (typeof(QuantKernels), nameof(QuantKernels.ActQuantFp8)),
    ];

    /// <summary>The kernels without specialisation, as (owner, name).</summary>
    public static IReadOnlyList<(Type Owner, string Name)> PlainKernels { get; } =
    [
        (typeof(CommonKernels), nameof(CommonKernels.FillF32)),
        (typeof(CommonKernels), nameof(CommonKernels.FillI32)),
        (typeof(RouterKernels), nameof(RouterKernels.SelectionBias)),
        (typeof(RouterKernels), nameof(RouterKernels.HashRoute)),
        (typeof(RouterKernels), nameof(RouterKernels.RouteWeights)),
        (typeof(DispatchKernels), nameof(DispatchKernels.ExpertHistogram)),
        (typeof(DispatchKernels), nameof(DispatchKernels.PermutationCount)),
        (typeof(DispatchKernels), nameof(DispatchKernels.PermutationBase)),
        (typeof(DispatchKernels), nameof(DispatchKernels.PermutationPlace)),
        (typeof(DispatchKernels), nameof(DispatchKernels.Permute)),
        (typeof(DispatchKernels), nameof(DispatchKernels.Unpermute)),
        (typeof(ActivationKernels), nameof(ActivationKernels.SwiGlu)),
        (typeof(ActivationKernels), nameof(ActivationKernels.Add)),
    ];

    /// <summary>Every shipped kernel closed over every shipped specialisation, with a readable name.</summary>
    public static IEnumerable<(string Name, MethodInfo Method)> All()
    {
        foreach (var (owner, name) in PlainKernels)
        {
            yield return (name, Plain(owner, name));
        }

        foreach (var group in Specialisations.RowGroups)
        {
            foreach (var (owner, name) in RowKernels)
            {
                yield return ($"{name}.{group}", RowKernel(owner, name, group));
            }

            foreach (var format in FloatFormats)
            {
                yield return ($"RmsNorm.{group}.{format}", RmsNorm(group, format));
                yield return ($"ExpertGate.{group}.{format}", ExpertGate(group, format));
            }
        }

        foreach (var format in QuantizedFormats)
        {
            yield return ($"Dequantize.{format}", Dequantize(format));
        }

        foreach (var tile in Specialisations.Tiles)
        {
            foreach (var format in AllFormats)
            {
                yield return ($"GroupedGemm.{tile}.{format}", GroupedGemm(tile, format));
            }
        }
    }

    private static MethodInfo Close(Type owner, string name, Type specialisation, (Type Format, Type Element) types) =>
        Method(owner, name).MakeGenericMethod(specialisation, types.Format, types.Element);

    private static MethodInfo Method(Type owner, string name) =>
        owner.GetMethod(name, BindingFlags.Public | BindingFlags.Static)
        ?? throw new InvalidOperationException($"{owner.Name}.{name} is not a public static kernel.");
}
