using Accel.Errors;

namespace Accel.Moe;

/// <summary>Checks a <see cref="MoeConfig"/> for values that are out of range or contradict each other.</summary>
public static class MoeConfigValidator
{
    /// <summary>
    /// Throws a <see cref="ConfigException"/> listing every problem, or returns the config.
    /// </summary>
    /// <param name="c">The config to check.</param>
    /// <param name="source">What the config came from, for the message (e.g. <c>config 'model/config.json'</c>).</param>
    /// <param name="keys">
    /// The name, as written in the source, of each <see cref="MoeConfig"/> property the source sets,
    /// keyed by property name (e.g. <c>Experts</c> to <c>n_routed_experts</c>); each problem then
    /// names the key to fix. Properties without a key are described in words.
    /// </param>
    public static MoeConfig Validate(MoeConfig c, string source = "config", IReadOnlyDictionary<string, string>? keys = null)
    {
        ArgumentNullException.ThrowIfNull(c);
        var problems = new List<string>();
        void Check(bool ok, string problem)
        {
            if (!ok) { problems.Add(problem); }
        }

        string Name(string property, string words) =>
            keys is not null && keys.TryGetValue(property, out string? key) ? $"\"{key}\" ({words})" : words;

        string hidden = Name(nameof(MoeConfig.Hidden), "the hidden size");
        string experts = Name(nameof(MoeConfig.Experts), "the number of routed experts");
        string topK = Name(nameof(MoeConfig.TopK), "experts per token");
        string groups = Name(nameof(MoeConfig.Groups), "the number of expert groups");
        string topGroups = Name(nameof(MoeConfig.TopGroups), "the groups kept per token");
        Check(c.Hidden > 0, $"{hidden} must be positive but is {c.Hidden}");
        Check(c.Experts > 0, $"{experts} must be positive but is {c.Experts}");
        Check(c.ExpertWidth > 0, $"{Name(nameof(MoeConfig.ExpertWidth), "the expert intermediate size")} must be positive but is {c.ExpertWidth}");
        Check(c.SharedWidth >= 0, $"{Name(nameof(MoeConfig.SharedWidth), "the shared-expert intermediate size")} must not be negative but is {c.SharedWidth}");
        Check(c.TopK >= 1 && c.TopK <= c.Experts, $"{topK} is {c.TopK} but must be between 1 and {experts}, which is {c.Experts}");
        Check(c.Groups >= 1, $"{groups} must be at least 1 but is {c.Groups}");
        if (c.Groups >= 1 && c.Experts > 0)
        {
            Check(c.Experts % c.Groups == 0, $"{groups} is {c.Groups}, which does not divide {experts}, which is {c.Experts}; the groups must split the experts evenly");
            Check(c.TopGroups >= 1 && c.TopGroups <= c.Groups, $"{topGroups} is {c.TopGroups} but must be between 1 and {groups}, which is {c.Groups}");
            if (c.Experts % c.Groups == 0 && c.TopGroups >= 1)
            {
                int reachable = c.TopGroups * (c.Experts / c.Groups);
                Check(c.TopK <= reachable, $"{topK} is {c.TopK}, more than the {reachable} experts in the kept groups: " +
                    $"{topGroups} is {c.TopGroups} and each group holds {c.Experts / c.Groups} experts");
            }
        }

        Check(float.IsFinite(c.RouteScale), $"{Name(nameof(MoeConfig.RouteScale), "the routed scaling factor")} must be finite but is {c.RouteScale}");
        Check(c.NormEpsilon >= 0, $"the normalisation epsilon must not be negative but is {c.NormEpsilon}");
        Check(c.SwigluLimit is null || (c.SwigluLimit > 0 && float.IsFinite(c.SwigluLimit.Value)),
            $"{Name(nameof(MoeConfig.SwigluLimit), "the SwiGLU clamp limit")} must be positive and finite but is {c.SwigluLimit}");
        string hashLayers = Name(nameof(MoeConfig.HashLayers), "the number of hash layers");
        Check(c.HashLayers >= 0, $"{hashLayers} must not be negative but is {c.HashLayers}");
        Check(c.HashLayers <= 0 || c.Vocab > 0,
            $"{hashLayers} is {c.HashLayers}, and hash layers need a positive {Name(nameof(MoeConfig.Vocab), "vocabulary size")}, but it is {c.Vocab}");
        Check(c.FirstDenseLayers >= 0, $"{Name(nameof(MoeConfig.FirstDenseLayers), "the number of dense layers")} must not be negative but is {c.FirstDenseLayers}");
        Check(c.Layers >= 0, $"{Name(nameof(MoeConfig.Layers), "the number of layers")} must not be negative but is {c.Layers}");
        Check(!c.SharedExpertGate || c.SharedWidth > 0, "a shared-expert gate needs a shared expert");
        if (problems.Count > 0)
        {
            string fix = keys is null ? "" : " Correct the named keys.";
            throw new ConfigException($"The MoE {source} is invalid: {string.Join("; ", problems)}.{fix}");
        }

        return c;
    }
}
