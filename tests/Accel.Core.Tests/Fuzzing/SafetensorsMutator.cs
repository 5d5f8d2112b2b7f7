using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Accel.Core.Tests.Fuzzing;

/// <summary>
/// Seeded mutations of a whole safetensors file: its 8-byte header length, its JSON header (generic
/// structural mutations plus targeted ones: dtypes, shapes that no longer match the byte ranges,
/// overlapping or out-of-range data offsets, a repeated tensor name, odd metadata) and its bytes
/// (flips, truncation, data added or cut off).
/// </summary>
internal static class SafetensorsMutator
{
    private static readonly string[] DTypes =
        ["F32", "F16", "BF16", "F8_E4M3", "F8_E8M0", "I8", "U8", "I32", "I64", "F64", "BOOL", "F8_E5M2", "f32", ""];

    /// <summary>Mutates <paramref name="file"/> (a valid safetensors file); the notes say how.</summary>
    public static (byte[] Bytes, string What) Mutate(byte[] file, Random rng)
    {
        var notes = new List<string>();
        byte[] result = rng.Next(20) switch
        {
            < 10 => MutateHeader(file, rng, notes),
            < 13 => MutatePrefix(file, rng, notes),
            < 16 => FlipBytes(file, rng, notes),
            < 18 => Truncate(file, rng, notes),
            _ => ResizeData(file, rng, notes),
        };
        return (result, string.Join("; ", notes));
    }

    private static (string Header, byte[] Data) Split(byte[] file)
    {
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (Encoding.UTF8.GetString(file, 8, n).TrimEnd(' '), file[(8 + n)..]);
    }

    private static byte[] Join(byte[] header, ulong claimedLength, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedLength);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    private static byte[] MutateHeader(byte[] file, Random rng, List<string> notes)
    {
        var (header, data) = Split(file);
        var mutator = new JsonMutator(header, rng);
        int count = 1 + rng.Next(3);
        for (int i = 0; i < count; i++)
        {
            if (rng.Next(2) == 0)
            {
                Targeted(mutator, data.Length);
            }
            else
            {
                mutator.MutateRandomly(1);
            }
        }

        string text = mutator.Write();
        if (rng.Next(10) == 0)
        {
            text = mutator.DamageText(text);
        }

        notes.AddRange(mutator.Notes);
        byte[] headerBytes = Encoding.UTF8.GetBytes(text + new string(' ', rng.Next(8)));
        ulong claimed = (ulong)headerBytes.Length;
        if (rng.Next(10) == 0)
        {
            claimed = (ulong)(header.Length + 8 - header.Length % 8);
            notes.Add($"length prefix left at the old header's {claimed}");
        }

        return Join(headerBytes, claimed, data);
    }

    /// <summary>A mutation aimed at one tensor entry: its dtype, shape, offsets or name, or the metadata.</summary>
    private static void Targeted(JsonMutator m, int dataLength)
    {
        if (m.Root is not JsonObject root)
        {
            m.MutateRandomly(1);
            return;
        }

        var tensors = root.Where(p => p.Key != "__metadata__" && p.Value is JsonObject).ToList();
        if (tensors.Count == 0)
        {
            m.MutateRandomly(1);
            return;
        }

        Random rng = m.Rng;
        var (name, value) = m.Pick(tensors);
        var entry = value!.AsObject();
        string at = $"$[{JsonSerializer.Serialize(name)}]";
        switch (rng.Next(6))
        {
            case 0:
                string dtype = m.Pick(DTypes);
                entry["dtype"] = dtype;
                m.Note($"{at}.dtype: set to \"{dtype}\"");
                break;
            case 1:
                MutateShape(m, entry, at);
                break;
            case 2:
            case 3:
                MutateOffsets(m, entry, at, tensors, dataLength);
                break;
            case 4:
                var (other, copy) = m.Pick(tensors);
                m.AddRawKey(root, JsonSerializer.Serialize(other), copy!.DeepClone());
                m.Note($"{at}: tensor name \"{other}\" repeated");
                break;
            default:
                string raw = m.Pick(new[] { "[]", "1", "\"x\"", "{\"a\":1}", "{\"a\":[\"b\"]}", "{\"\":\"\"}", "null" });
                root["__metadata__"] = m.Raw(raw);
                m.Note($"$.__metadata__: set to {raw}");
                break;
        }
    }

    private static void MutateShape(JsonMutator m, JsonObject entry, string at)
    {
        if (entry["shape"] is not JsonArray shape)
        {
            entry["shape"] = new JsonArray(1);
            m.Note($"{at}.shape: set to [1]");
            return;
        }

        Random rng = m.Rng;
        var dims = shape.Select(d => d?.GetValueKind() == JsonValueKind.Number ? d.GetValue<long>() : 1).ToList();
        int i = dims.Count > 0 ? rng.Next(dims.Count) : 0;
        string change;
        switch (rng.Next(5))
        {
            case 0 when dims.Count > 0:
                dims[i] += rng.Next(2) == 0 ? 1 : -1;
                change = $"dimension {i} changed by one";
                break;
            case 1 when dims.Count > 1:
                (dims[0], dims[^1]) = (dims[^1], dims[0]);
                change = "first and last dimensions swapped";
                break;
            case 2 when dims.Count > 0:
                dims.RemoveAt(i);
                change = $"dimension {i} dropped";
                break;
            case 3 when dims.Count > 0:
                dims[i] = 0;
                change = $"dimension {i} set to 0";
                break;
            default:
                dims.Insert(rng.Next(dims.Count + 1), rng.Next(3));
                change = "a dimension inserted";
                break;
        }

        shape.Clear();
        dims.ForEach(d => shape.Add(d));
        m.Note($"{at}.shape: {change} -> [{string.Join(", ", dims)}]");
    }

    private static void MutateOffsets(JsonMutator m, JsonObject entry, string at,
        List<KeyValuePair<string, JsonNode?>> tensors, int dataLength)
    {
        Random rng = m.Rng;
        long begin = 0, end = 0;
        if (entry["data_offsets"] is JsonArray { Count: 2 } old
            && old.All(n => n?.GetValueKind() == JsonValueKind.Number))
        {
            (begin, end) = (old[0]!.GetValue<long>(), old[1]!.GetValue<long>());
        }

        string change;
        switch (rng.Next(6))
        {
            case 0:
                var (otherName, other) = m.Pick(tensors);
                entry["data_offsets"] = other!["data_offsets"]?.DeepClone();
                change = $"copied from \"{otherName}\" (overlap)";
                break;
            case 1:
                long shift = rng.Next(1, 9) * (rng.Next(2) == 0 ? 1 : -1);
                (begin, end) = (begin + shift, end + shift);
                change = $"both shifted by {shift}";
                break;
            case 2:
                (begin, end) = (end, begin);
                change = "begin and end swapped";
                break;
            case 3:
                end = dataLength + rng.Next(1, 64);
                change = "end past the data section";
                break;
            case 4:
                end += rng.Next(2) == 0 ? 1 : -1;
                change = "end moved by one";
                break;
            default:
                entry["data_offsets"] = new JsonArray(m.Raw(m.EdgeNumber()), m.Raw(m.EdgeNumber()));
                m.Note($"{at}.data_offsets: set to edge-case numbers");
                return;
        }

        if (change.StartsWith("copied", StringComparison.Ordinal))
        {
            m.Note($"{at}.data_offsets: {change}");
            return;
        }

        entry["data_offsets"] = new JsonArray(begin, end);
        m.Note($"{at}.data_offsets: {change} -> [{begin}, {end}]");
    }

    private static byte[] MutatePrefix(byte[] file, Random rng, List<string> notes)
    {
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        ulong length = (ulong)file.Length;
        ulong[] choices =
        [
            0, 1, 2, 7, n - 1, n + 1, n + 8, length - 8, length - 7, length, 1UL << 32, 1UL << 63, ulong.MaxValue,
            100_000_001, (ulong)rng.NextInt64(),
        ];
        ulong claimed = choices[rng.Next(choices.Length)];
        var bytes = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimed);
        notes.Add($"length prefix {n} -> {claimed}");
        return bytes;
    }

    private static byte[] FlipBytes(byte[] file, Random rng, List<string> notes)
    {
        var bytes = (byte[])file.Clone();
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        int flips = 1 + rng.Next(8);
        for (int i = 0; i < flips; i++)
        {
            // Most flips land in the prefix and header, where they change meaning, not just values.
            int at = rng.Next(4) == 0 ? rng.Next(bytes.Length) : rng.Next(headerEnd);
            byte mask = (byte)(1 << rng.Next(8));
            if (rng.Next(4) == 0)
            {
                mask = (byte)rng.Next(1, 256);
            }

            bytes[at] ^= mask;
            notes.Add($"byte {at} ^= 0x{mask:x2}");
        }

        return bytes;
    }

    private static byte[] Truncate(byte[] file, Random rng, List<string> notes)
    {
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        int cut = rng.Next(3) switch
        {
            0 => rng.Next(9),
            1 => rng.Next(8, headerEnd + 1),
            _ => rng.Next(headerEnd, file.Length),
        };
        notes.Add($"truncated to {cut} of {file.Length} bytes");
        return file[..cut];
    }

    private static byte[] ResizeData(byte[] file, Random rng, List<string> notes)
    {
        int extra = rng.Next(1, 4096);
        if (rng.Next(2) == 0)
        {
            var bytes = new byte[file.Length + extra];
            file.CopyTo(bytes, 0);
            rng.NextBytes(bytes.AsSpan(file.Length));
            notes.Add($"{extra} random bytes appended");
            return bytes;
        }

        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        int keep = Math.Max(headerEnd, file.Length - extra);
        notes.Add($"data cut from {file.Length - headerEnd} to {keep - headerEnd} bytes");
        return file[..keep];
    }
}
