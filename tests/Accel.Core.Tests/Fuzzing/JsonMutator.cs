using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Accel.Core.Tests.Fuzzing;

/// <summary>
/// Seeded structural mutations of a JSON document: dropped, duplicated and renamed keys, values of
/// the wrong type, edge-case numbers (huge, negative, fractional, NaN), odd strings (empty, unicode,
/// lone surrogates, control characters), deep nesting, values copied from elsewhere in the document,
/// and text damage (truncation, stray characters). Text that a <see cref="JsonNode"/> cannot hold
/// (duplicate keys, NaN, invalid escapes) is put in as a placeholder and substituted when the
/// document is written. Every mutation is noted so a failing case can be read and replayed.
/// </summary>
internal sealed class JsonMutator
{
    private const string RawMark = "@@fuzz-raw-";

    private static readonly string[] Numbers =
    [
        "0", "-1", "1", "-0", "2147483647", "2147483648", "-2147483649", "4294967296", "9223372036854775807",
        "9223372036854775808", "18446744073709551615", "18446744073709551616", "1e308", "-1e308", "1e309",
        "5e-324", "1e-320", "0.5", "1.5", "3.0", "1e2", "NaN", "Infinity", "-Infinity", "00", "0x10",
        "99999999999999999999999999999999", "1E+400", "-9223372036854775809",
    ];

    private static readonly string[] Strings =
    [
        "\"\"", "\" \"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00x\"", "\"\u00e9\"", "\"e\\u0301\"", "\"\ud83d\ude00\"",
        "\"\\u200b\"", "\"\\u202e\"", "\"" + new string('x', 300) + "\"", "\"-1\"", "\"1e308\"", "\"NaN\"", "\"null\"",
        "\"true\"", "\"F32\"", "\"BF16\"", "\"F64\"", "\"\\\"\"", "\"a\\nb\"", "\"\\t\"", "\"\\\\\"",
    ];

    private static readonly string[] OtherTypes =
        ["true", "false", "null", "[]", "{}", "[1,2]", "[[1]]", "{\"a\":1}", "\"text\"", "0", "[\"a\"]", "[-1]"];

    private static readonly string[] TextNoise = ["{", "}", "[", "]", ",", ":", "\"", "\\", " ", "0", "a", "-", "\u00e9", "\0"];

    private readonly Random _rng;
    private readonly List<string> _notes = [];
    private readonly Dictionary<string, string> _raw = new(StringComparer.Ordinal);
    private JsonNode? _root;

    /// <summary>Parses <paramref name="json"/> (comments and trailing commas allowed) for mutation.</summary>
    public JsonMutator(string json, Random rng)
    {
        _rng = rng;
        _root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions
        {
            CommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
        });
    }

    /// <summary>A place in the document that holds a value: a member of an object or an element of an array.</summary>
    public sealed record Slot(JsonNode Parent, string? Key, int Index, string Path)
    {
        /// <summary>The value in the slot (null for a JSON null).</summary>
        public JsonNode? Value => Key is not null ? Parent.AsObject()[Key] : Parent.AsArray()[Index];
    }

    /// <summary>The root of the document being mutated.</summary>
    public JsonNode? Root => _root;

    /// <summary>The mutations applied so far, in order.</summary>
    public IReadOnlyList<string> Notes => _notes;

    /// <summary>The random source shared by every mutation.</summary>
    public Random Rng => _rng;

    /// <summary>Every value slot of the document, depth first.</summary>
    public List<Slot> Slots()
    {
        var slots = new List<Slot>();
        Collect(_root, "$", slots);
        return slots;
    }

    /// <summary>Records one mutation for the replay description.</summary>
    public void Note(string text) => _notes.Add(text);

    /// <summary>A node that is written as <paramref name="text"/> verbatim (any JSON or non-JSON text).</summary>
    public JsonNode Raw(string text)
    {
        string mark = RawMark + _raw.Count + "@@";
        _raw.Add(mark, text);
        return JsonValue.Create(mark);
    }

    /// <summary>Puts <paramref name="value"/> into <paramref name="slot"/>.</summary>
    public static void Set(Slot slot, JsonNode? value)
    {
        if (slot.Key is not null)
        {
            slot.Parent.AsObject()[slot.Key] = value;
        }
        else
        {
            slot.Parent.AsArray()[slot.Index] = value;
        }
    }

    /// <summary>Adds a member named <paramref name="rawKey"/> (written verbatim, so it may repeat a key) to <paramref name="target"/>.</summary>
    public void AddRawKey(JsonObject target, string rawKey, JsonNode? value)
    {
        string mark = RawMark + _raw.Count + "@@";
        _raw.Add(mark, rawKey);
        target[mark] = value;
    }

    /// <summary>One random edge-case number, as JSON (or not-quite-JSON) text.</summary>
    public string EdgeNumber() => Pick(Numbers);

    /// <summary>Applies <paramref name="count"/> random structural mutations.</summary>
    public void MutateRandomly(int count)
    {
        for (int i = 0; i < count; i++)
        {
            MutateOnce();
        }
    }

    /// <summary>Writes the document, substituting the raw placeholders.</summary>
    public string Write()
    {
        string text = _root is null ? "null" : _root.ToJsonString(new JsonSerializerOptions
        {
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            WriteIndented = false,
        });
        foreach ((string mark, string raw) in _raw)
        {
            text = text.Replace("\"" + mark + "\"", raw, StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>Damages the written text itself: a cut, a deleted or inserted character, a repeated span.</summary>
    public string DamageText(string text)
    {
        if (text.Length == 0)
        {
            Note("text: appended '{'");
            return "{";
        }

        int at = _rng.Next(text.Length);
        switch (_rng.Next(4))
        {
            case 0:
                Note($"text: cut at char {at} of {text.Length}");
                return text[..at];
            case 1:
                Note($"text: deleted char {at} ('{Escape(text[at])}')");
                return text.Remove(at, 1);
            case 2:
                string noise = Pick(TextNoise);
                Note($"text: inserted '{Escape(noise[0])}' at char {at}");
                return text.Insert(at, noise);
            default:
                int length = Math.Min(text.Length - at, 1 + _rng.Next(40));
                Note($"text: repeated chars {at}..{at + length}");
                return text.Insert(at, text.Substring(at, length));
        }
    }

    /// <summary>A random element of <paramref name="items"/>.</summary>
    public T Pick<T>(IReadOnlyList<T> items) => items[_rng.Next(items.Count)];

    private void MutateOnce()
    {
        var slots = Slots();
        if (slots.Count == 0 || _rng.Next(50) == 0)
        {
            string replacement = Pick(OtherTypes);
            Note($"$: root replaced by {replacement}");
            _root = Raw(replacement);
            return;
        }

        Slot slot = Pick(slots);
        JsonNode? value = slot.Value;
        int op = _rng.Next(value switch
        {
            JsonArray => 13,
            JsonValue v when v.GetValueKind() is JsonValueKind.Number or JsonValueKind.String => 12,
            _ => 10,
        });
        switch (op)
        {
            case 0:
                Remove(slot);
                break;
            case 1:
                Duplicate(slot);
                break;
            case 2:
                Rename(slot);
                break;
            case 3:
                Replace(slot, Pick(OtherTypes), "a value of another type");
                break;
            case 4:
            case 5:
                Replace(slot, Pick(Numbers), "an edge-case number");
                break;
            case 6:
                Replace(slot, Pick(Strings), "an odd string");
                break;
            case 7:
                Replace(slot, DeepNesting(), "deep nesting");
                break;
            case 8:
                CopyFromElsewhere(slot, slots);
                break;
            case 9:
                AddUnknownKey(slots);
                break;
            default:
                if (value is JsonArray array)
                {
                    MutateArray(slot, array);
                }
                else
                {
                    MutateScalar(slot, value!.AsValue());
                }

                break;
        }
    }

    private void Remove(Slot slot)
    {
        if (slot.Key is not null)
        {
            slot.Parent.AsObject().Remove(slot.Key);
        }
        else
        {
            slot.Parent.AsArray().RemoveAt(slot.Index);
        }

        Note($"{slot.Path}: removed");
    }

    private void Duplicate(Slot slot)
    {
        if (slot.Key is null)
        {
            slot.Parent.AsArray().Insert(slot.Index, slot.Value?.DeepClone());
            Note($"{slot.Path}: element repeated");
            return;
        }

        bool same = _rng.Next(2) == 0;
        string number = Pick(Numbers);
        AddRawKey(slot.Parent.AsObject(), JsonSerializer.Serialize(slot.Key), same ? slot.Value?.DeepClone() : Raw(number));
        Note($"{slot.Path}: key repeated with {(same ? "the same value" : "the value " + number)}");
    }

    private void Rename(Slot slot)
    {
        if (slot.Key is null)
        {
            Remove(slot);
            return;
        }

        string key = slot.Key;
        string[] variants =
        [
            key.ToUpperInvariant(), key + "_", "", key.Length > 1 ? key[..^1] : "k", key + "\u00e9", " " + key,
        ];
        string renamed = Pick(variants);
        JsonObject parent = slot.Parent.AsObject();
        JsonNode? value = slot.Value;
        parent.Remove(key);
        if (_rng.Next(7) == 0)
        {
            // A key that starts with a lone surrogate escape: valid JSON syntax, invalid text.
            AddRawKey(parent, "\"\\ud800" + JsonSerializer.Serialize(key)[1..], value);
            Note($"{slot.Path}: key prefixed with the lone surrogate escape \\ud800");
            return;
        }

        if (parent.ContainsKey(renamed))
        {
            AddRawKey(parent, JsonSerializer.Serialize(renamed), value);
        }
        else
        {
            parent[renamed] = value;
        }

        Note($"{slot.Path}: key renamed to {JsonSerializer.Serialize(renamed)}");
    }

    private void Replace(Slot slot, string raw, string what)
    {
        Set(slot, Raw(raw));
        Note($"{slot.Path}: replaced by {what} {Shorten(raw)}");
    }

    private string DeepNesting()
    {
        int depth = Pick(new[] { 33, 65, 200, 1000, 10000 });
        return _rng.Next(2) == 0
            ? new string('[', depth) + "1" + new string(']', depth)
            : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
    }

    private void CopyFromElsewhere(Slot slot, List<Slot> slots)
    {
        Slot source = Pick(slots);
        JsonNode? copy = source.Value?.DeepClone();
        Set(slot, copy);
        Note($"{slot.Path}: replaced by a copy of {source.Path} ({Shorten(copy?.ToJsonString() ?? "null")})");
    }

    private void AddUnknownKey(List<Slot> slots)
    {
        var objects = slots.Select(s => s.Value).OfType<JsonObject>().ToList();
        if (_root is JsonObject rootObject)
        {
            objects.Add(rootObject);
        }

        if (objects.Count == 0)
        {
            return;
        }

        JsonObject target = Pick(objects);
        string raw = Pick(OtherTypes);
        AddRawKey(target, "\"zz_fuzz_unknown\"", Raw(raw));
        Note($"{target.GetPath()}: added unknown key \"zz_fuzz_unknown\": {raw}");
    }

    private void MutateArray(Slot slot, JsonArray array)
    {
        switch (_rng.Next(4))
        {
            case 0:
                array.Clear();
                Note($"{slot.Path}: emptied");
                break;
            case 1:
                array.Add(array.Count > 0 ? array[_rng.Next(array.Count)]?.DeepClone() : Raw(Pick(Numbers)));
                Note($"{slot.Path}: element appended");
                break;
            case 2:
                var items = array.Select(n => n?.DeepClone()).Reverse().ToList();
                array.Clear();
                items.ForEach(array.Add);
                Note($"{slot.Path}: reversed");
                break;
            default:
                array.Add(Raw(Pick(Numbers)));
                Note($"{slot.Path}: edge-case number appended");
                break;
        }
    }

    private void MutateScalar(Slot slot, JsonValue value)
    {
        if (value.GetValueKind() == JsonValueKind.String)
        {
            string s = value.GetValue<string>();
            if (s.StartsWith(RawMark, StringComparison.Ordinal))
            {
                Replace(slot, Pick(Numbers), "an edge-case number");
                return;
            }

            string[] variants = [s.ToUpperInvariant(), s.ToLowerInvariant(), s + " ", s.Length > 0 ? s[..^1] : "x", s + s];
            string changed = Pick(variants);
            Set(slot, JsonValue.Create(changed));
            Note($"{slot.Path}: string changed to {Shorten(JsonSerializer.Serialize(changed))}");
            return;
        }

        // The value may hold a parsed element or a number put in by an earlier mutation; its text reads the same.
        double d = double.Parse(value.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture);
        double[] variants2 = [d + 1, d - 1, d * 2, -d, d * 1e6, d / 2, 0, d + 0.5];
        double n = Pick(variants2);
        string text = n == Math.Floor(n) && Math.Abs(n) < 1e15
            ? ((long)n).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : n.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        Replace(slot, text, "a nearby number");
    }

    private static void Collect(JsonNode? node, string path, List<Slot> slots)
    {
        switch (node)
        {
            case JsonObject o:
                foreach ((string key, JsonNode? child) in o.ToList())
                {
                    string childPath = $"{path}[{JsonSerializer.Serialize(key)}]";
                    slots.Add(new Slot(o, key, -1, childPath));
                    Collect(child, childPath, slots);
                }

                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                {
                    string childPath = $"{path}[{i}]";
                    slots.Add(new Slot(a, null, i, childPath));
                    Collect(a[i], childPath, slots);
                }

                break;
        }
    }

    private static string Escape(char c) => c < ' ' ? $"\\u{(int)c:x4}" : c.ToString();

    private static string Shorten(string text) => text.Length <= 60 ? text : $"{text[..40]}... ({text.Length} chars)";
}
