using Accel.Errors;
using Accel.Graph;
using Accel.IO;
using Accel.Types;

namespace Accel.Moe;

public static partial class MoeWeightLoader
{
    /// <summary>
    /// Reads the weights named <paramref name="names"/> (each [out, in] logically) and their scales,
    /// and stacks them into [E, out, in] (and [E, ...] scales). All must share one format.
    /// </summary>
    private static (HostTensor Weight, HostTensor? Scale) LoadStack(ITensorSource source, string[] names, int outDim, int inDim)
    {
        DType? type = null;
        DType? scaleType = null;
        byte[]? data = null, scaleData = null;
        Shape? scaleShape = null;
        long perExpert = 0, perScale = 0;
        for (int e = 0; e < names.Length; e++)
        {
            // The source's tensors are copied straight into the stack (no per-expert copy in between,
            // which at full model size would be gigabytes of garbage while loading).
            var (t, tensor, sType, sShape, sTensor) = ReadOne(source, names[e], outDim, inDim);
            var bytes = tensor.ReadOnlyBytes;
            var sBytes = sTensor is null ? default : sTensor.ReadOnlyBytes;
            if (type is null)
            {
                type = t;
                scaleType = sType;
                scaleShape = sShape;
                perExpert = bytes.Length;
                perScale = sTensor is null ? 0 : sBytes.Length;
                data = new byte[perExpert * names.Length];
                scaleData = sTensor is null ? null : new byte[perScale * names.Length];
            }
            else if (t != type || sType != scaleType || sShape != scaleShape)
            {
                throw new InvalidInputException(
                    $"'{names[e]}' is stored as {t.ShortName()} but '{names[0]}' as {type.Value.ShortName()} (or their scales differ); all experts of a projection must share one format.");
            }

            bytes.CopyTo(data.AsSpan(checked((int)(e * perExpert))));
            if (sTensor is not null)
            {
                sBytes.CopyTo(scaleData.AsSpan(checked((int)(e * perScale))));
            }
        }

        var weight = new HostTensor(type!.Value, new Shape(names.Length, outDim, inDim), data!);
        var scale = scaleData is null
            ? null
            : new HostTensor(scaleType!.Value, new Shape((long[])[names.Length, .. scaleShape!]), scaleData);
        return (weight, scale);
    }

    private static (DType Type, HostTensor Data, DType? ScaleType, Shape? ScaleShape, HostTensor? Scale) ReadOne(
        ITensorSource source, string name, int outDim, int inDim)
    {
        if (!source.TryDescribe(name, out var desc))
        {
            throw Missing(source, name, $"expected shape [{outDim}, {inDim}]");
        }

        TensorDesc? scaleDesc = null;
        foreach (string candidate in MoeWeightNames.HfScaleCandidates(name))
        {
            if (source.TryDescribe(candidate, out var s))
            {
                scaleDesc = s;
                break;
            }
        }

        bool packedFp4 = desc.Type is DType.I8 or DType.U8 && desc.Shape == new Shape(outDim, inDim / 2) && inDim % 2 == 0;
        if (packedFp4)
        {
            var expected = new Shape(outDim, OpSignatures.CeilDiv(inDim, OpSignatures.Fp4Block));
            if (scaleDesc is null || scaleDesc.Type != DType.UE8M0 || scaleDesc.Shape != expected)
            {
                throw new InvalidInputException(
                    $"'{name}' looks like packed FP4 ({desc.Type.ShortName()}{desc.Shape}) but has no UE8M0 scale of shape {expected} " +
                    $"({(scaleDesc is null ? "none found" : $"found {scaleDesc}")}).");
            }

            return (DType.F4E2M1, source.Read(name), DType.UE8M0, expected, CheckFinite(source.Read(scaleDesc.Name), scaleDesc.Name));
        }

        if (desc.Shape != new Shape(outDim, inDim))
        {
            throw new ConfigException($"'{name}' has shape {desc.Shape} but the config implies [{outDim}, {inDim}]; " +
                "check that config.json belongs to this checkpoint.");
        }

        switch (desc.Type)
        {
            case DType.F32 or DType.BF16 or DType.F16:
                return (desc.Type, source.Read(name), null, null, null);
            case DType.F8E4M3:
                {
                    var expected = new Shape(OpSignatures.CeilDiv(outDim, 128), OpSignatures.CeilDiv(inDim, 128));
                    if (scaleDesc is null || scaleDesc.Type is not (DType.F32 or DType.UE8M0) || scaleDesc.Shape != expected)
                    {
                        throw new InvalidInputException(
                            $"The FP8 weight '{name}' needs a block scale '{name}_scale_inv' of shape {expected} in f32 or ue8m0 " +
                            $"({(scaleDesc is null ? "none found" : $"found {scaleDesc}")}).");
                    }

                    return (DType.F8E4M3, source.Read(name), scaleDesc.Type, expected, CheckFinite(source.Read(scaleDesc.Name), scaleDesc.Name));
                }

            default:
                throw new InvalidInputException(
                    $"'{name}' is stored as {desc.Type.ShortName()}; expert weights must be f32, bf16, f16, f8e4m3 (with a block scale) or packed fp4 (with a ue8m0 scale).");
        }
    }

    private static HostTensor Unstack(HostTensor t) =>
        new(t.Type, new Shape(t.Shape.Skip(1).ToArray()), t.Bytes.ToArray());
}
