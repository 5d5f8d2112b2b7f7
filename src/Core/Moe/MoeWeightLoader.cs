using Accel.Errors;
using Accel.IO;
using Accel.Types;
using N = Accel.Moe.MoeWeightNames;

namespace Accel.Moe;

/// <summary>
/// Loads one layer's MoE weights from checkpoint tensors by their Hugging Face names, checks every
/// shape against the config, stacks the routed experts into [E, out, in] tensors and keeps each
/// weight in its stored format (FP8 e4m3 with block scales, FP4 e2m1 packed in bytes, bf16, ...).
/// </summary>
public static partial class MoeWeightLoader
{
    /// <summary>Loads layer <paramref name="layer"/>; the result is keyed by <see cref="MoeWeightNames"/>.</summary>
    public static Dictionary<string, HostTensor> Load(ITensorSource source, MoeConfig config, int layer)
    {
        ArgumentNullException.ThrowIfNull(source);
        CheckLayer(source, config, layer);
        var w = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        string p = N.Prefix(config.Family, layer);
        string routerName = p + "gate.weight";
        var router = Expect(source, routerName, [config.Experts, config.Hidden], "[n_routed_experts, hidden_size]");
        if (router.Type is not (DType.F32 or DType.BF16 or DType.F16))
        {
            throw new InvalidInputException($"'{routerName}' is {router.Type.ShortName()}; the router weight must be f32, bf16 or f16.");
        }

        w[N.Router] = source.Read(routerName);
        bool hash = config.IsHashLayer(layer);
        if (hash)
        {
            w[N.HashTable] = LoadHashTable(source, p + "gate.tid2eid", config);
        }
        else if (config.SelectionBias)
        {
            string biasName = p + "gate.e_score_correction_bias";
            if (!TryGet(source, biasName, out _))
            {
                throw Missing(source, biasName, config.Family == MoeFamily.DeepSeekV4
                    ? "DeepSeek-V4 scored layers carry a selection bias"
                    : "the config's topk_method noaux_tc routes with a selection bias");
            }

            Expect(source, biasName, [config.Experts], "[n_routed_experts]");
            w[N.RouterBias] = CheckFinite(ToF32(source.Read(biasName)), biasName);
        }

        foreach (string proj in N.Projections)
        {
            (int o, int i) = proj == "down" ? (config.Hidden, config.ExpertWidth) : (config.ExpertWidth, config.Hidden);
            var names = Enumerable.Range(0, config.Experts).Select(e => N.HfExpert(config.Family, layer, e, proj)).ToArray();
            var (weight, scale) = LoadStack(source, names, o, i);
            w[N.Experts(proj)] = weight;
            if (scale is not null)
            {
                w[N.ExpertsScale(proj)] = scale;
            }
        }

        if (config.SharedWidth > 0)
        {
            foreach (string proj in N.Projections)
            {
                (int o, int i) = proj == "down" ? (config.Hidden, config.SharedWidth) : (config.SharedWidth, config.Hidden);
                var (weight, scale) = LoadStack(source, [N.HfShared(config.Family, layer, proj)], o, i);
                w[N.Shared(proj)] = Unstack(weight);
                if (scale is not null)
                {
                    w[N.SharedScale(proj)] = Unstack(scale);
                }
            }

            if (config.SharedExpertGate)
            {
                string gate = p + "shared_expert_gate.weight";
                Expect(source, gate, [1, config.Hidden], "[1, hidden_size]");
                w[N.SharedGate] = source.Read(gate);
            }
        }

        return w;
    }

    private static void CheckLayer(ITensorSource source, MoeConfig config, int layer)
    {
        if (layer < 0 || (config.Layers > 0 && layer >= config.Layers))
        {
            throw new ConfigException($"Layer {layer} does not exist; the config has {config.Layers} layers (0..{config.Layers - 1}).");
        }

        if (layer < config.FirstDenseLayers)
        {
            throw new ConfigException($"Layer {layer} is a dense layer (first_k_dense_replace = {config.FirstDenseLayers}); choose a layer from {config.FirstDenseLayers} on.");
        }

        string probe = N.Prefix(config.Family, layer) + "gate.weight";
        if (!source.TryDescribe(probe, out _))
        {
            var present = source.Names
                .Select(n => n.StartsWith("model.layers.", StringComparison.Ordinal) ? n["model.layers.".Length..].Split('.')[0] : null)
                .Where(s => int.TryParse(s, out _)).Select(int.Parse!).Distinct().Order().ToArray();
            throw new ConfigException(
                $"The checkpoint holds no MoE block for layer {layer} (no tensor '{probe}'). " +
                (present.Length > 0 ? $"Layers present: {string.Join(", ", present)}." : "It holds no model.layers.* tensors at all."));
        }
    }

    private static HostTensor LoadHashTable(ITensorSource source, string name, MoeConfig config)
    {
        if (!source.TryDescribe(name, out var desc))
        {
            throw Missing(source, name, $"layer is a hash layer (below num_hash_layers = {config.HashLayers})");
        }

        if (desc.Shape.Rank != 2 || desc.Shape[1] != config.TopK || (config.Vocab > 0 && desc.Shape[0] != config.Vocab))
        {
            throw new ConfigException(
                $"'{name}' has shape {desc.Shape} but the config implies [{(config.Vocab > 0 ? config.Vocab : "vocab_size")}, {config.TopK}] ([vocab_size, num_experts_per_tok]).");
        }

        if (desc.Type is not (DType.I32 or DType.I64))
        {
            throw new InvalidInputException($"'{name}' is {desc.Type.ShortName()}; a hash table must be i32 or i64.");
        }

        int[] ids = source.Read(name).ToI32();
        int k = config.TopK;
        for (int row = 0; row < ids.Length / k; row++)
        {
            for (int j = 0; j < k; j++)
            {
                int e = ids[row * k + j];
                if (e < 0 || e >= config.Experts)
                {
                    throw new InvalidInputException($"'{name}'[{row}, {j}] = {e} is not an expert id (0..{config.Experts - 1}).");
                }

                for (int i = 0; i < j; i++)
                {
                    if (ids[row * k + i] == e)
                    {
                        throw new InvalidInputException($"'{name}' row {row} names expert {e} twice; each row needs {k} distinct experts.");
                    }
                }
            }
        }

        return HostTensor.FromI32(desc.Shape, ids);
    }

    internal static bool TryGet(ITensorSource source, string name, out TensorDesc desc)
    {
        bool ok = source.TryDescribe(name, out var d);
        desc = d!;
        return ok;
    }

    internal static TensorDesc Expect(ITensorSource source, string name, long[] dims, string meaning)
    {
        if (!source.TryDescribe(name, out var desc))
        {
            throw Missing(source, name, $"expected shape {new Shape(dims)} {meaning}");
        }

        if (desc.Shape != new Shape(dims))
        {
            throw new ConfigException($"'{name}' has shape {desc.Shape} but the config implies {new Shape(dims)} {meaning}; " +
                "check that config.json belongs to this checkpoint.");
        }

        return desc;
    }

    internal static InvalidInputException Missing(ITensorSource source, string name, string why)
    {
        string stem = name[..(name.LastIndexOf('.') + 1)];
        var similar = source.Names.Where(n => n.StartsWith(stem, StringComparison.Ordinal)).Take(5).ToArray();
        return new InvalidInputException($"The checkpoint lacks the tensor '{name}' ({why})." +
            (similar.Length > 0 ? $" Tensors with that prefix: {string.Join(", ", similar)}." : ""));
    }

    /// <summary>Refuses NaN or infinite values (and the UE8M0 NaN code 255) in a tensor that scales or shifts results.</summary>
    private static HostTensor CheckFinite(HostTensor t, string name)
    {
        if (t.Type == DType.UE8M0)
        {
            int bad = t.ReadOnlyBytes.IndexOf((byte)255);
            if (bad >= 0)
            {
                throw new InvalidInputException($"'{name}' holds the UE8M0 NaN code 255 at element {bad}; the checkpoint is corrupt.");
            }

            return t;
        }

        var values = t.ToF32();
        int i = FiniteScan.FirstNonFinite(values);
        if (i >= 0)
        {
            throw new InvalidInputException($"'{name}' holds {values[i]} at element {i}; every value must be finite.");
        }

        return t;
    }

    private static HostTensor ToF32(HostTensor t) => t.Type == DType.F32 ? t : HostTensor.FromF32(t.Shape, t.ToF32());
}
