using System.Globalization;
using Accel.Graph;

namespace Accel.Conformance;

/// <summary>
/// One conformance case as data: an op (or a whole MoE layer), the dtype it is tested in and its
/// parameters. <see cref="Id"/> is stable and readable in the ggml style, e.g.
/// <c>GroupedGemm(type=bf16,experts=16,k=4,tokens=37,d=96,i=48,align=1,routing=uniform)</c>;
/// every input is generated from a seed derived from the id, so the id alone reproduces the case.
/// </summary>
public sealed record ConformanceCase
{
    /// <summary>The name of whole-layer cases.</summary>
    public const string LayerName = "MoeLayer";

    private readonly KeyValuePair<string, string>[] _parameters;

    /// <summary>Creates a case; parameter values are formatted with the invariant culture.</summary>
    /// <param name="name">An <see cref="OpKind"/> name, or <see cref="LayerName"/>.</param>
    /// <param name="type">The dtype under test (<c>f32</c>, <c>bf16</c>, <c>f8e4m3</c>, ...).</param>
    /// <param name="parameters">Ordered parameters; their order is part of the id.</param>
    public ConformanceCase(string name, string type, params (string Key, object? Value)[] parameters)
    {
        Name = name;
        Type = type;
        _parameters = [.. parameters.Select(p => new KeyValuePair<string, string>(p.Key, Format(p.Value)))];
        Op = Enum.TryParse<OpKind>(name, out var op) ? op : null;
        Id = $"{name}(type={type}{string.Concat(_parameters.Select(p => $",{p.Key}={p.Value}"))})";
    }

    /// <summary>The op name, or <see cref="LayerName"/>.</summary>
    public string Name { get; }

    /// <summary>The dtype label under test.</summary>
    public string Type { get; }

    /// <summary>The op, or null for a whole-layer case.</summary>
    public OpKind? Op { get; }

    /// <summary>True for a whole-layer case.</summary>
    public bool IsLayer => Op is null;

    /// <summary>The parameters in id order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters => _parameters;

    /// <summary>The stable id.</summary>
    public string Id { get; }

    /// <summary>Part of the quick subset (<c>--filter quick</c>).</summary>
    public bool Quick { get; init; }

    /// <summary>A large shape: NUnit category <c>slow</c>, left out unless asked for.</summary>
    public bool Slow { get; init; }

    /// <summary>The value of parameter <paramref name="key"/>.</summary>
    public string Text(string key) => TryText(key) ?? throw new KeyNotFoundException($"Case {Id} has no parameter '{key}'.");

    /// <summary>The value of parameter <paramref name="key"/>, or null.</summary>
    public string? TryText(string key) => _parameters.FirstOrDefault(p => p.Key == key).Value;

    /// <summary>An integer parameter.</summary>
    public int Int(string key) => int.Parse(Text(key), CultureInfo.InvariantCulture);

    /// <summary>An integer parameter, or <paramref name="fallback"/> when absent.</summary>
    public int Int(string key, int fallback) => TryText(key) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;

    /// <summary>A floating-point parameter (<c>none</c> reads as null).</summary>
    public float? Float(string key) => TryText(key) is { } s && s != "none" ? float.Parse(s, CultureInfo.InvariantCulture) : null;

    /// <summary>A 0/1 parameter.</summary>
    public bool Flag(string key) => TryText(key) == "1";

    /// <summary>The seed every input of attempt <paramref name="attempt"/> is generated from (FNV-1a of the id).</summary>
    public ulong Seed(int attempt = 0) => CaseRandom.SeedOf(Id, attempt);

    /// <inheritdoc/>
    public bool Equals(ConformanceCase? other) => other is not null && other.Id == Id;

    /// <inheritdoc/>
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Id);

    /// <inheritdoc/>
    public override string ToString() => Id;

    private static string Format(object? value) => value switch
    {
        null => "none",
        bool b => b ? "1" : "0",
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        Enum e => e.ToString().ToLowerInvariant(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "none",
    };
}
