using System.Globalization;
using System.Text.Json;
using Accel.Errors;
using Accel.IO;

namespace Accel.Profiles;

/// <summary>A JSON element together with its JSON path (e.g. <c>$.memory.deviceBytes</c>).</summary>
internal readonly record struct JsonNodeAt(JsonElement Element, string Path)
{
    public static string ChildPath(string parent, string name) =>
        IsPlainName(name) ? $"{parent}.{name}" : $"{parent}['{name.Replace("'", "\\'", StringComparison.Ordinal)}']";

    public static string IndexPath(string parent, int index) =>
        $"{parent}[{index.ToString(CultureInfo.InvariantCulture)}]";

    private static bool IsPlainName(string name) =>
        name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '$');
}

/// <summary>
/// Reads typed values out of a profile's JSON and turns every problem into a
/// <see cref="ProfileException"/> naming the file, the JSON path and what was expected.
/// </summary>
internal sealed class ProfileJsonReader(string file)
{
    public string File { get; } = file;

    public ProfileException Error(string path, string problem) => new(File, path, problem);

    /// <summary>
    /// Opens an object, rejecting duplicates and (when <paramref name="allowed"/> is given) unknown fields.
    /// </summary>
    public JsonObjectAt Object(JsonNodeAt node, IReadOnlyList<string>? allowed)
    {
        Expect(node, JsonValueKind.Object, "an object");
        var seen = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var property in node.Element.EnumerateObject())
        {
            var name = Text(node.Path, () => property.Name, "a field name");
            var path = JsonNodeAt.ChildPath(node.Path, name);
            if (allowed is not null && !allowed.Contains(name, StringComparer.Ordinal))
            {
                throw Error(path, $"unknown field '{name}'; expected one of: {string.Join(", ", allowed)}.");
            }

            if (!seen.TryAdd(name, property.Value))
            {
                throw Error(path, $"duplicate field '{name}'; each field may appear once.");
            }

            order.Add(name);
        }

        return new JsonObjectAt(this, node.Path, seen, order);
    }

    public List<JsonNodeAt> Array(JsonNodeAt node, string elementDescription, bool allowEmpty)
    {
        Expect(node, JsonValueKind.Array, $"an array of {elementDescription}");
        var items = new List<JsonNodeAt>();
        var index = 0;
        foreach (var element in node.Element.EnumerateArray())
        {
            items.Add(new JsonNodeAt(element, JsonNodeAt.IndexPath(node.Path, index++)));
        }

        if (!allowEmpty && items.Count == 0)
        {
            throw Error(node.Path, $"expected a non-empty array of {elementDescription}, found an empty array.");
        }

        return items;
    }

    public string String(JsonNodeAt node, string what = "a non-empty string")
    {
        Expect(node, JsonValueKind.String, what);
        var text = Text(node.Path, () => node.Element.GetString()!, $"expected {what}, but the string");
        if (string.IsNullOrWhiteSpace(text))
        {
            throw Error(node.Path, $"expected {what}, found an empty string.");
        }

        return text;
    }

    public int PositiveInt(JsonNodeAt node, string what = "a positive whole number")
    {
        Expect(node, JsonValueKind.Number, what);
        if (!node.Element.TryGetInt32(out var value))
        {
            throw Error(node.Path, $"expected {what}, found {Found(node.Element)}.");
        }

        if (value <= 0)
        {
            throw Error(node.Path, $"expected {what} (greater than zero), found {value}.");
        }

        return value;
    }

    public double? NullableNumber(JsonNodeAt node)
    {
        if (node.Element.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        Expect(node, JsonValueKind.Number, "a number or null");
        var value = node.Element.GetDouble();
        if (!double.IsFinite(value))
        {
            throw Error(node.Path, $"expected a finite number, found {Found(node.Element)}.");
        }

        return value;
    }

    /// <summary>Reads a string (a value or a field name), refusing one whose escapes are not valid text at <paramref name="path"/>.</summary>
    private string Text(string path, Func<string> read, string subject) =>
        JsonErrorText.ReadString(read, problem => Error(path, $"{subject} {problem} Fix the escape."));

    public void Expect(JsonNodeAt node, JsonValueKind kind, string what)
    {
        if (node.Element.ValueKind != kind)
        {
            throw Error(node.Path, $"expected {what}, found {Found(node.Element)}.");
        }
    }

    /// <summary>Describes a JSON value for a message: its kind and, when short, its text.</summary>
    public static string Found(JsonElement element)
    {
        var kind = element.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            JsonValueKind.Null => "null",
            _ => "nothing",
        };
        if (element.ValueKind is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null
            or JsonValueKind.Undefined)
        {
            return kind;
        }

        return $"{kind} ({JsonErrorText.Raw(element, JsonErrorText.MaxQuote)})";
    }
}

/// <summary>An opened JSON object: required and optional fields by name, each with its path.</summary>
internal sealed class JsonObjectAt(
    ProfileJsonReader reader,
    string path,
    Dictionary<string, JsonElement> fields,
    List<string> order)
{
    public string Path { get; } = path;

    /// <summary>Field names in file order.</summary>
    public IReadOnlyList<string> Names => order;

    public JsonNodeAt Required(string name, string what)
    {
        if (!fields.TryGetValue(name, out var element))
        {
            throw reader.Error(JsonNodeAt.ChildPath(Path, name), $"missing required field '{name}' ({what}).");
        }

        return new JsonNodeAt(element, JsonNodeAt.ChildPath(Path, name));
    }

    public JsonNodeAt? Optional(string name) =>
        fields.TryGetValue(name, out var element) ? new JsonNodeAt(element, JsonNodeAt.ChildPath(Path, name)) : null;

    public JsonNodeAt this[string name] => new(fields[name], JsonNodeAt.ChildPath(Path, name));
}
