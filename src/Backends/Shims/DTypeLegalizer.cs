using Accel.Graph;
using Accel.Profiles;
using Accel.Types;

namespace Accel.Backends.Shims;

/// <summary>
/// Applies a profile's dtype support to op nodes and buffers. A dtype the profile lists runs as is.
/// A dtype it lacks follows the profile's rule: <c>fallback</c> (or no rule) makes the node
/// unsupported, so the planner puts it on the next backend; a conversion rule converts weights at
/// upload — floats element by element (e.g. bf16 -&gt; f32), block-scaled fp8/fp4 weights by
/// widening the elements (exact) and folding the block scales in, which yields f32 (the kernels
/// have no f16 GEMM with block scales, and f32 keeps the result equal to the reference's
/// dequantisation). Activations and outputs in a lacking dtype are never converted: the node falls back.
/// </summary>
public static class DTypeLegalizer
{
    /// <summary>The stored (weight or parameter, scale) input positions of an op from its schema; scale -1 where there is none.</summary>
    public static IReadOnlyList<(int Weight, int Scale)> WeightInputs(OpKind kind) => [.. OpSchemas.Of(kind).StoredInputs];

    /// <summary>True for the block-scaled weight dtypes.</summary>
    public static bool IsQuantized(DType t) => t is DType.F8E4M3 or DType.F4E2M1;

    /// <summary>
    /// The dtype a tensor of <paramref name="type"/> has on the device: itself when supported, the
    /// rule's dtype for floats and scales, f32 for block-scaled weights (scales folded in).
    /// </summary>
    public static DType DeviceType(HardwareProfile profile, DType type)
    {
        if (profile.DTypes.Supported.Contains(type) || profile.DTypes.RuleFor(type) is not { To: DType to })
        {
            return type;
        }

        return IsQuantized(type) ? DType.F32 : to;
    }

    /// <summary>True when bytes of <paramref name="from"/> can be converted element by element to <paramref name="to"/>.</summary>
    public static bool IsElementwise(DType from, DType to) =>
        from is DType.F32 or DType.F16 or DType.BF16 or DType.UE8M0 && to is DType.F32 or DType.F16 or DType.BF16;

    /// <summary>Whether <paramref name="profile"/> runs <paramref name="node"/> (after legalisation).</summary>
    public static OpSupport Check(HardwareProfile profile, OpNode node, Graph.Graph graph)
    {
        var pairs = WeightInputs(node.Kind);
        for (int i = 0; i < node.Inputs.Length; i++)
        {
            if (node.Inputs[i] < 0)
            {
                continue;
            }

            var value = graph.Values[node.Inputs[i]];
            if (Lacking(profile, value.Type, out var why) is not { } rule)
            {
                if (why.Length > 0)
                {
                    return OpSupport.No(why);
                }

                continue;
            }

            string name = $"input '{value.Name}' ({value.Type.ShortName()})";
            if (value.Role != ValueRole.Weight)
            {
                return OpSupport.No($"{profile.Id} lacks {value.Type.ShortName()} and converts only weights ({rule}); " +
                    $"{name} is computed at run time.");
            }

            bool ok = IsQuantized(value.Type)
                ? pairs.Any(p => p.Weight == i && p.Scale >= 0)
                : value.Type == DType.UE8M0
                    ? pairs.Any(p => p.Scale == i && ScaleConvertible(profile, graph, node, p.Weight))
                    : pairs.Any(p => p.Weight == i) && IsElementwise(value.Type, rule.To!.Value);
            if (!ok)
            {
                return OpSupport.No(
                    $"{profile.Id} lacks {value.Type.ShortName()}; the rule {rule} has no conversion for {name} of {node.Kind}.");
            }
        }

        foreach (int o in node.Outputs)
        {
            var value = graph.Values[o];
            if (Lacking(profile, value.Type, out var why) is not null || why.Length > 0)
            {
                return OpSupport.No(why.Length > 0 ? why
                    : $"{profile.Id} lacks {value.Type.ShortName()} and converts only weights; " +
                      $"output '{value.Name}' would be {value.Type.ShortName()}.");
            }
        }

        return OpSupport.Yes;
    }

    /// <summary>
    /// The conversion rule for a dtype the profile lacks; null with an empty reason when it is
    /// supported, null with the reason when the node must fall back.
    /// </summary>
    private static LegalizationRule? Lacking(HardwareProfile profile, DType type, out string why)
    {
        why = "";
        if (profile.DTypes.Supported.Contains(type))
        {
            return null;
        }

        var rule = profile.DTypes.RuleFor(type);
        if (rule is null || rule.IsFallback)
        {
            why = rule is null
                ? $"{profile.Id} lacks {type.ShortName()} and its profile has no rule for it (fallback)."
                : $"{profile.Id} lacks {type.ShortName()}; profile rule {rule}.";
            return null;
        }

        return rule;
    }

    private static bool ScaleConvertible(HardwareProfile profile, Graph.Graph graph, OpNode node, int weightPosition)
    {
        var w = graph.Values[node.Inputs[weightPosition]].Type;
        return DeviceType(profile, w) == DType.F32 && IsQuantized(w) || w == DType.F8E4M3;
    }

    /// <summary>Converts bytes of <paramref name="from"/> to <paramref name="to"/> element by element.</summary>
    public static byte[] Convert(ReadOnlySpan<byte> source, DType from, DType to, long elements)
    {
        var result = new byte[to.ByteSize(elements)];
        for (long i = 0; i < elements; i++)
        {
            float v = from switch
            {
                DType.F32 => BitConverter.ToSingle(source.Slice((int)(i * 4), 4)),
                DType.F16 => NumericFormats.F16ToF32(BitConverter.ToUInt16(source.Slice((int)(i * 2), 2))),
                DType.BF16 => NumericFormats.BF16ToF32(BitConverter.ToUInt16(source.Slice((int)(i * 2), 2))),
                DType.UE8M0 => NumericFormats.UE8M0ToF32(source[(int)i]),
                _ => throw new NotSupportedException($"no element conversion from {from.ShortName()}"),
            };
            switch (to)
            {
                case DType.F32: BitConverter.TryWriteBytes(result.AsSpan((int)(i * 4), 4), v); break;
                case DType.F16: BitConverter.TryWriteBytes(result.AsSpan((int)(i * 2), 2), NumericFormats.F32ToF16(v)); break;
                case DType.BF16: BitConverter.TryWriteBytes(result.AsSpan((int)(i * 2), 2), NumericFormats.F32ToBF16(v)); break;
                default: throw new NotSupportedException($"no element conversion to {to.ShortName()}");
            }
        }

        return result;
    }

    /// <summary>Dequantises a block-scaled weight [E, out, in] or [out, in] to f32 bytes (the reference's rows).</summary>
    public static byte[] Dequantize(ReadOnlySpan<byte> weight, DType type, ReadOnlySpan<byte> scale, DType scaleType, Shape shape)
    {
        long experts = shape.Rank == 3 ? shape[0] : 1, outDim = shape[shape.Rank - 2], inDim = shape[shape.Rank - 1];
        var view = new WeightView(weight, type, scale, scaleType, experts, outDim, inDim);
        var result = new float[experts * outDim * inDim];
        for (long e = 0; e < experts; e++)
        {
            for (long r = 0; r < outDim; r++)
            {
                view.DequantRow(e, r, result.AsSpan((int)((e * outDim + r) * inDim), (int)inDim));
            }
        }

        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan()).ToArray();
    }
}
