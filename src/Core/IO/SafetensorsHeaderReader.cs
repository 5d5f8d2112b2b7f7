using System.Text.Json;
using System.Text.Unicode;
using Accel.Errors;

namespace Accel.IO;

/// <summary>Reads the JSON header token by token, so duplicate keys and wrong types are caught.</summary>
internal static class SafetensorsHeaderReader
{
    private const string MetadataKey = "__metadata__";

    /// <summary>The most dimensions a tensor may have; more means a corrupt header.</summary>
    private const int MaxRank = 64;

    public static SafetensorsHeader Read(string path, ReadOnlySpan<byte> json, long dataLength)
    {
        if (!Utf8.IsValid(json))
        {
            throw new SafetensorsException(path,
                "the header is not valid UTF-8 text. The file is corrupt or not a safetensors file.");
        }

        try
        {
            return ReadObject(path, json, dataLength);
        }
        catch (JsonException ex)
        {
            throw new SafetensorsException(path,
                $"the header is not valid JSON ({JsonErrorText.Reason(ex)}). The file is corrupt or not a safetensors file.");
        }
        catch (InvalidOperationException ex)
        {
            // Thrown when a string holds an escape that is not valid text (a lone surrogate).
            throw new SafetensorsException(path,
                $"the header {JsonErrorText.InvalidEscape} ({ex.Message}). The file is corrupt.");
        }
    }

    private static SafetensorsHeader ReadObject(string path, ReadOnlySpan<byte> json, long dataLength)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new SafetensorsException(path,
                $"the header must be a JSON object but starts with {Describe(ref reader)}. " +
                "The file is corrupt or not a safetensors file.");
        }

        var tensors = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string key = reader.GetString()!;
            if (!seen.Add(key))
            {
                throw new SafetensorsException(path,
                    $"the header has the key '{key}' twice (a duplicate key). Each tensor name may appear once; " +
                    "the file is corrupt.");
            }

            Next(ref reader);
            if (key == MetadataKey)
            {
                ReadMetadata(path, ref reader, metadata);
            }
            else
            {
                SafetensorsEntry entry = ReadEntry(path, key, ref reader, dataLength);
                tensors.Add(key, entry);
            }
        }

        if (reader.Read())
        {
            throw new SafetensorsException(path,
                "the header has content after its closing brace. The file is corrupt.");
        }

        return new SafetensorsHeader(tensors, metadata);
    }

    private static void ReadMetadata(string path, ref Utf8JsonReader reader, Dictionary<string, string> metadata)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new SafetensorsException(path,
                $"\"{MetadataKey}\" must be an object mapping strings to strings, but it is {Describe(ref reader)}.");
        }

        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string key = reader.GetString()!;
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new SafetensorsException(path,
                    $"\"{MetadataKey}\" must map strings to strings, but its key '{key}' holds " +
                    $"{Describe(ref reader)}. Store the value as a JSON string.");
            }

            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw new SafetensorsException(path,
                    $"\"{MetadataKey}\" has the key '{key}' twice (a duplicate key). The file is corrupt.");
            }
        }
    }

    private static SafetensorsEntry ReadEntry(string path, string name, ref Utf8JsonReader reader, long dataLength)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new SafetensorsException(path,
                $"tensor '{name}' must be an object with \"dtype\", \"shape\" and \"data_offsets\", but it is " +
                $"{Describe(ref reader)}.");
        }

        string? dtype = null;
        List<long>? dims = null;
        List<ulong>? offsets = null;
        while (Next(ref reader) != JsonTokenType.EndObject)
        {
            string field = reader.GetString()!;
            Next(ref reader);
            switch (field)
            {
                case "dtype":
                    CheckOnce(path, name, field, dtype is not null);
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw WrongType(path, name, field, "a string such as \"F32\"", ref reader);
                    }

                    dtype = reader.GetString()!;
                    break;
                case "shape":
                    CheckOnce(path, name, field, dims is not null);
                    dims = [];
                    foreach (ulong d in ReadIntegers(path, name, field, "a list of non-negative integers", MaxRank, ref reader))
                    {
                        if (d > long.MaxValue)
                        {
                            throw new SafetensorsException(path,
                                $"tensor '{name}' has the dimension {d} in its \"shape\", which does not fit " +
                                "a 64-bit signed integer. The header is corrupt.");
                        }

                        dims.Add((long)d);
                    }

                    break;
                case "data_offsets":
                    CheckOnce(path, name, field, offsets is not null);
                    offsets = ReadIntegers(path, name, field, "a list [begin, end] of two non-negative integers", 2, ref reader);
                    if (offsets.Count != 2)
                    {
                        throw new SafetensorsException(path,
                            $"tensor '{name}' has \"data_offsets\" with {offsets.Count} numbers; it must be " +
                            "[begin, end]. The header is corrupt.");
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        string? missing = dtype is null ? "dtype" : dims is null ? "shape" : offsets is null ? "data_offsets" : null;
        if (missing is not null)
        {
            throw new SafetensorsException(path,
                $"tensor '{name}' is missing \"{missing}\"; every tensor entry needs \"dtype\", \"shape\" and " +
                "\"data_offsets\". The header is corrupt.");
        }

        return SafetensorsHeader.MakeEntry(path, name, dtype!, dims!, offsets![0], offsets[1], dataLength);
    }

    private static List<ulong> ReadIntegers(
        string path, string name, string field, string expected, int maxCount, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw WrongType(path, name, field, expected, ref reader);
        }

        var values = new List<ulong>();
        while (Next(ref reader) != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetUInt64(out ulong value))
            {
                string found = reader.TokenType == JsonTokenType.Number
                    ? $"the number {System.Text.Encoding.UTF8.GetString(reader.ValueSpan)}"
                    : Describe(ref reader);
                throw new SafetensorsException(path,
                    $"tensor '{name}' has {found} in \"{field}\", which must be {expected}. " +
                    "Negative or fractional values are not allowed; the header is corrupt.");
            }

            if (values.Count == maxCount)
            {
                throw new SafetensorsException(path,
                    $"tensor '{name}' has more than {maxCount} numbers in \"{field}\", which must be {expected}. " +
                    "The header is corrupt.");
            }

            values.Add(value);
        }

        return values;
    }

    private static void CheckOnce(string path, string name, string field, bool seenBefore)
    {
        if (seenBefore)
        {
            throw new SafetensorsException(path,
                $"tensor '{name}' has the key \"{field}\" twice (a duplicate key). The header is corrupt.");
        }
    }

    private static SafetensorsException WrongType(string path, string name, string field, string expected, ref Utf8JsonReader reader) =>
        new(path, $"tensor '{name}' has {Describe(ref reader)} for \"{field}\", which must be {expected}. " +
                  "The header has the wrong JSON type there; it is corrupt.");

    /// <summary>Advances one token; reaching the end of input inside a value is invalid JSON.</summary>
    private static JsonTokenType Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("the header ends before the JSON is complete");
        }

        return reader.TokenType;
    }

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.None => "nothing",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => reader.TokenType.ToString(),
    };
}
