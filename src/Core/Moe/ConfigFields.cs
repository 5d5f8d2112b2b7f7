using System.Text.Json;
using Accel.Errors;
using Accel.IO;

namespace Accel.Moe;

/// <summary>
/// Typed reads of one JSON object of a config.json. Every error is a <see cref="ConfigException"/>
/// that names the key as written in the file, with the path of an enclosing object in front
/// (<c>"quantization_config.weight_block_size"</c>), what was found, what was expected and the fix.
/// A key that appears more than once takes its last value, as Python's json module (and so the
/// model's own code) reads it.
/// </summary>
internal sealed class ConfigFields
{
    private readonly JsonElement _object;
    private readonly string _source;
    private readonly string _prefix;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>Wraps <paramref name="obj"/>; <paramref name="prefix"/> is its key path with a trailing dot, or empty at the root.</summary>
    public ConfigFields(JsonElement obj, string source, string prefix)
    {
        _object = obj;
        _source = source;
        _prefix = prefix;
        foreach (JsonProperty p in obj.EnumerateObject())
        {
            string name = ReadText(() => p.Name, prefix.Length == 0 ? "a key" : $"a key of \"{prefix.TrimEnd('.')}\"");
            _names.Add(name);
        }
    }

    /// <summary>The key path as written in messages, e.g. <c>"quantization_config.weight_block_size"</c>.</summary>
    public string Key(string name) => $"\"{_prefix}{name}\"";

    /// <summary>An error about key <paramref name="name"/>; <paramref name="problem"/> continues the sentence after the key.</summary>
    public ConfigException Error(string name, string problem) => new($"'{_source}': {Key(name)} {problem}");

    /// <summary>True when the key is present with a non-null value.</summary>
    public bool Has(string name) => IsPresent(Get(name));

    /// <summary>A 32-bit integer; required when <paramref name="fallback"/> is null.</summary>
    public int Int(string name, int? fallback = null)
    {
        JsonElement v = Get(name);
        if (!IsPresent(v))
        {
            return fallback ?? throw Missing(name);
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i))
        {
            return i;
        }

        throw Error(name, $"must be a whole number that fits 32 bits but is {Found(v)}; write it as a plain JSON integer such as 8.");
    }

    /// <summary>A number that is finite as a 32-bit float; required when <paramref name="fallback"/> is null.</summary>
    public float Float(string name, float? fallback = null)
    {
        JsonElement v = Get(name);
        if (!IsPresent(v))
        {
            return fallback ?? throw Missing(name);
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && float.IsFinite((float)d))
        {
            return (float)d;
        }

        throw Error(name, $"must be a finite number within the 32-bit float range (about ±3.4e38) but is {Found(v)}; " +
                          "write it as a plain JSON number such as 2.5.");
    }

    /// <summary>A boolean, or <paramref name="fallback"/> when absent.</summary>
    public bool Bool(string name, bool fallback)
    {
        JsonElement v = Get(name);
        if (!IsPresent(v))
        {
            return fallback;
        }

        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Error(name, $"must be true or false but is {Found(v)}; write it without quotes."),
        };
    }

    /// <summary>A string, or <paramref name="fallback"/> when absent.</summary>
    public string String(string name, string fallback)
    {
        JsonElement v = Get(name);
        if (!IsPresent(v))
        {
            return fallback;
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            throw Error(name, $"must be a string but is {Found(v)}; write it in double quotes.");
        }

        return ReadText(() => v.GetString()!, Key(name));
    }

    /// <summary>The nested object at key <paramref name="name"/>, or null when absent.</summary>
    public ConfigFields? Object(string name)
    {
        JsonElement v = Get(name);
        if (!IsPresent(v))
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.Object
            ? new ConfigFields(v, _source, $"{_prefix}{name}.")
            : throw Error(name, $"must be an object {{ ... }} but is {Found(v)}.");
    }

    /// <summary>An array of exactly <paramref name="count"/> positive 32-bit integers.</summary>
    public int[] PositiveInts(string name, int count, string meaning)
    {
        JsonElement v = Get(name);
        var values = new List<int>();
        if (v.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement item in v.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int i) || i <= 0)
                {
                    values.Clear();
                    break;
                }

                values.Add(i);
            }
        }

        if (values.Count != count)
        {
            throw Error(name, $"must be a list of {count} positive whole numbers {meaning} but is {Found(v)}.");
        }

        return [.. values];
    }

    /// <summary>How a value reads in a message: its JSON text, cut short.</summary>
    public static string Describe(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => JsonErrorText.Raw(v),
    };

    private static string Found(JsonElement v) => JsonErrorText.Raw(v);

    private static bool IsPresent(JsonElement v) => v.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Null);

    private JsonElement Get(string name) => _names.Contains(name) ? _object.GetProperty(name) : default;

    private ConfigException Missing(string name)
    {
        string hint = NameSuggestions.Closest(name, _names, 1) is [var near] && NameSuggestions.Distance(name, near, 4) < 4
            ? $" The file has \"{_prefix}{near}\"; is that a misspelling?"
            : "";
        return new ConfigException($"'{_source}' lacks the key {Key(name)}, which this model type needs; add it.{hint}");
    }

    /// <summary>Reads a key or string value, refusing one whose escapes are not valid text by naming <paramref name="what"/>.</summary>
    private string ReadText(Func<string> read, string what) =>
        JsonErrorText.ReadString(read, problem => new ConfigException($"'{_source}': {what} {problem} Fix the escape in the file."));
}
