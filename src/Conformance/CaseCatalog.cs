using System.Text.RegularExpressions;
using Accel.Conformance.Cases;
using Accel.Errors;
using Accel.Graph;

namespace Accel.Conformance;

/// <summary>
/// Every conformance case, and how a case becomes a <see cref="CaseProblem"/>. Sets: <c>quick</c>
/// (one or two cases per op and one per layer family), <c>standard</c> (everything but the slow
/// large shapes; the default), <c>full</c> (everything).
/// </summary>
public static class CaseCatalog
{
    private static readonly Lazy<IReadOnlyList<ConformanceCase>> Cases = new(() =>
    {
        var all = RouterCases.All().Concat(SelectionCases.All()).Concat(DispatchCases.All())
            .Concat(ExpertCases.All()).Concat(QuantCases.All()).Concat(LayerCases.All()).ToList();
        var duplicate = all.GroupBy(c => c.Id).FirstOrDefault(g => g.Count() > 1);
        return duplicate is null ? all : throw new InvalidOperationException($"Duplicate case id {duplicate.Key}.");
    });

    /// <summary>The layer families the whole-layer cases cover.</summary>
    public static IReadOnlyList<string> LayerFamilies { get; } = [.. LayerCases.Families.Select(f => f.Family)];

    /// <summary>Every case, in a stable order.</summary>
    public static IReadOnlyList<ConformanceCase> All => Cases.Value;

    /// <summary>The quick subset.</summary>
    public static IReadOnlyList<ConformanceCase> Quick => [.. All.Where(c => c.Quick)];

    /// <summary>Every case that is not slow.</summary>
    public static IReadOnlyList<ConformanceCase> Standard => [.. All.Where(c => !c.Slow)];

    /// <summary>The case with this id, or null.</summary>
    public static ConformanceCase? Find(string id) => All.FirstOrDefault(c => c.Id == id);

    /// <summary>
    /// Selects cases: <c>quick</c>, <c>standard</c> (also null or empty), <c>full</c>, or a
    /// pattern matched against the ids of all cases — an exact id, a case-insensitive substring,
    /// or a wildcard pattern with <c>*</c> (e.g. <c>GroupedGemm(type=f8e4m3*</c>).
    /// </summary>
    public static IReadOnlyList<ConformanceCase> Select(string? filter)
    {
        switch (filter?.Trim())
        {
            case null or "" or "standard": return Standard;
            case "quick": return Quick;
            case "full" or "all": return All;
        }

        string f = filter.Trim();
        if (Find(f) is { } exact)
        {
            return [exact];
        }

        IReadOnlyList<ConformanceCase> result = f.Contains('*')
            ? [.. All.Where(c => Wildcard(f).IsMatch(c.Id))]
            : [.. All.Where(c => c.Id.Contains(f, StringComparison.OrdinalIgnoreCase))];
        if (result.Count == 0)
        {
            throw new InvalidInputException(
                $"No conformance case matches '{f}'. Use quick, standard or full, an op name such as GroupedGemm, " +
                "part of an id such as 'type=bf16', or a wildcard such as 'MoeLayer(*family=mixtral*'.");
        }

        return result;
    }

    /// <summary>Builds the problem of <paramref name="c"/> for a generation attempt (0 first).</summary>
    public static CaseProblem Build(ConformanceCase c, int attempt = 0)
    {
        var rng = new CaseRandom(c.Seed(attempt));
        return c.Op switch
        {
            null => LayerCases.Build(c, rng),
            OpKind.RmsNorm or OpKind.RouterGemm or OpKind.RouterScore or OpKind.SelectionBias or OpKind.Add => RouterCases.Build(c, rng),
            OpKind.GroupLimitMask or OpKind.TopK or OpKind.HashRoute or OpKind.RouteWeights => SelectionCases.Build(c, rng),
            OpKind.ExpertHistogram or OpKind.ExclusiveScan or OpKind.BuildPermutation or OpKind.Permute or OpKind.Unpermute =>
                DispatchCases.Build(c, rng),
            OpKind.GroupedGemm or OpKind.SwiGlu or OpKind.SharedExpert => ExpertCases.Build(c, rng),
            OpKind.DequantFp8Block or OpKind.DequantFp4 or OpKind.ActQuantFp8 => QuantCases.Build(c, rng),
            _ => throw new ArgumentException($"No builder for {c.Id}.", nameof(c)),
        };
    }

    private static Regex Wildcard(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal) + "$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
}
