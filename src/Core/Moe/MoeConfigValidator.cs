using Accel.Errors;

namespace Accel.Moe;

/// <summary>Checks a <see cref="MoeConfig"/> for values that are out of range or contradict each other.</summary>
public static class MoeConfigValidator
{
    /// <summary>Throws a <see cref="ConfigException"/> listing every problem, or returns the config.</summary>
    public static MoeConfig Validate(MoeConfig c, string source = "config")
    {
        var problems = new List<string>();
        void Check(bool ok, string problem)
        {
            if (!ok) { problems.Add(problem); }
        }

        Check(c.Hidden > 0, $"hidden size must be positive (is {c.Hidden})");
        Check(c.Experts > 0, $"the number of routed experts must be positive (is {c.Experts})");
        Check(c.ExpertWidth > 0, $"the expert intermediate size must be positive (is {c.ExpertWidth})");
        Check(c.SharedWidth >= 0, $"the shared-expert intermediate size must not be negative (is {c.SharedWidth})");
        Check(c.TopK >= 1 && c.TopK <= c.Experts, $"experts per token ({c.TopK}) must be between 1 and the number of experts ({c.Experts})");
        Check(c.Groups >= 1, $"the number of expert groups must be at least 1 (is {c.Groups})");
        if (c.Groups >= 1 && c.Experts > 0)
        {
            Check(c.Experts % c.Groups == 0, $"{c.Groups} expert groups do not divide {c.Experts} experts");
            Check(c.TopGroups >= 1 && c.TopGroups <= c.Groups, $"top-k groups ({c.TopGroups}) must be between 1 and the number of groups ({c.Groups})");
            if (c.Experts % c.Groups == 0 && c.TopGroups >= 1)
            {
                int reachable = c.TopGroups * (c.Experts / c.Groups);
                Check(c.TopK <= reachable, $"experts per token ({c.TopK}) exceeds the {reachable} experts in the {c.TopGroups} kept groups");
            }
        }

        Check(float.IsFinite(c.RouteScale), $"the routed scaling factor must be finite (is {c.RouteScale})");
        Check(c.NormEpsilon >= 0, "the normalisation epsilon must not be negative");
        Check(c.SwigluLimit is null || c.SwigluLimit > 0, $"swiglu_limit must be positive (is {c.SwigluLimit})");
        Check(c.HashLayers >= 0, $"the number of hash layers must not be negative (is {c.HashLayers})");
        Check(c.HashLayers == 0 || c.Vocab > 0, "hash layers need a positive vocabulary size");
        Check(c.FirstDenseLayers >= 0, "the number of dense layers must not be negative");
        Check(!c.SharedExpertGate || c.SharedWidth > 0, "a shared-expert gate needs a shared expert");
        if (problems.Count > 0)
        {
            throw new ConfigException($"The MoE {source} is invalid: {string.Join("; ", problems)}.");
        }

        return c;
    }
}
