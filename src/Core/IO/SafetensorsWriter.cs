using System.Buffers;
using System.Buffers.Binary;
using System.Text.Encodings.Web;
using System.Text.Json;
using Accel.Errors;
using Accel.Types;

namespace Accel.IO;

/// <summary>
/// Writes safetensors files: an 8-byte little-endian header length, a JSON header padded with
/// spaces to a multiple of 8 bytes, then the tensors' bytes back to back in the order given.
/// </summary>
public static class SafetensorsWriter
{
    private const string InMemory = "(in memory)";

    /// <summary>The most bytes written between two checks of the cancellation token.</summary>
    internal const int ChunkBytes = 4 << 20;

    /// <summary>
    /// Writes <paramref name="tensors"/> (and optional string <paramref name="metadata"/>) to
    /// <paramref name="path"/>. The file is written next to its destination and moved into place
    /// when complete, so a failed or cancelled write leaves no partial file behind and any file
    /// already at <paramref name="path"/> untouched. <paramref name="cancellationToken"/> is checked
    /// before the write, every <see cref="ChunkBytes"/> bytes and before the move; cancelling throws
    /// <see cref="OperationCanceledException"/> after the temporary file is deleted.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, HostTensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default) =>
        Write(path, tensors, metadata, cancellationToken,
            temp => new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None));

    /// <summary><see cref="Write(string, IEnumerable{KeyValuePair{string, HostTensor}}, IReadOnlyDictionary{string, string}?, CancellationToken)"/> through a given way of creating the temporary file.</summary>
    internal static void Write(string path, IEnumerable<KeyValuePair<string, HostTensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken, Func<string, Stream> createTemp)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Layout layout = Plan(path, tensors, metadata);
        cancellationToken.ThrowIfCancellationRequested();
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            using (Stream stream = createTemp(temp))
            {
                WriteChunked(stream, layout.Prefix, cancellationToken);
                foreach (KeyValuePair<string, HostTensor> t in layout.Tensors)
                {
                    WriteChunked(stream, t.Value.ReadOnlyBytes, cancellationToken);
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new SafetensorsException(path, $"the file could not be written: {ex.Message}");
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void WriteChunked(Stream stream, ReadOnlySpan<byte> bytes, CancellationToken cancellationToken)
    {
        for (int at = 0; at < bytes.Length; at += ChunkBytes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            stream.Write(bytes.Slice(at, Math.Min(ChunkBytes, bytes.Length - at)));
        }
    }

    /// <summary>The exact bytes <see cref="Write(string, IEnumerable{KeyValuePair{string, HostTensor}}, IReadOnlyDictionary{string, string}?, CancellationToken)"/> would produce, in memory.</summary>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, HostTensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        Layout layout = Plan(InMemory, tensors, metadata);
        long total = layout.Prefix.Length + layout.DataLength;
        if (total > Array.MaxLength)
        {
            throw new SafetensorsException(InMemory,
                $"the serialized file would be {total} bytes, more than one array can hold; use Write to a file.");
        }

        var result = new byte[total];
        layout.Prefix.CopyTo(result, 0);
        long at = layout.Prefix.Length;
        foreach (KeyValuePair<string, HostTensor> t in layout.Tensors)
        {
            t.Value.ReadOnlyBytes.CopyTo(result.AsSpan((int)at));
            at += t.Value.ReadOnlyBytes.Length;
        }

        return result;
    }

    private sealed record Layout(byte[] Prefix, List<KeyValuePair<string, HostTensor>> Tensors, long DataLength);

    /// <summary>Validates the input and builds the length prefix plus the padded header.</summary>
    private static Layout Plan(string path, IEnumerable<KeyValuePair<string, HostTensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>();
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        long offset = 0;
        using (var json = new Utf8JsonWriter(buffer, options))
        {
            json.WriteStartObject();
            if (metadata is not null)
            {
                WriteMetadata(path, json, metadata);
            }

            foreach ((string name, HostTensor tensor) in list)
            {
                CheckTensor(path, name, tensor, names);
                long length = tensor.ReadOnlyBytes.Length;
                json.WriteStartObject(name);
                json.WriteString("dtype", SafetensorsDTypes.ToName(tensor.Type));
                json.WriteStartArray("shape");
                foreach (long d in tensor.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += length;
            }

            json.WriteEndObject();
        }

        int headerLength = buffer.WrittenCount;
        int padded = (headerLength + 7) / 8 * 8;
        if (padded > SafetensorsHeader.MaxHeaderBytes)
        {
            throw new SafetensorsException(path,
                $"the header would be {padded} bytes, more than the {SafetensorsHeader.MaxHeaderBytes}-byte limit " +
                "readers accept. Split the tensors over several files (shards).");
        }

        var prefix = new byte[SafetensorsHeader.PrefixBytes + padded];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        buffer.WrittenSpan.CopyTo(prefix.AsSpan(SafetensorsHeader.PrefixBytes));
        prefix.AsSpan(SafetensorsHeader.PrefixBytes + headerLength).Fill((byte)' ');
        return new Layout(prefix, list, offset);
    }

    private static void WriteMetadata(string path, Utf8JsonWriter json, IReadOnlyDictionary<string, string> metadata)
    {
        json.WriteStartObject("__metadata__");
        foreach ((string key, string value) in metadata)
        {
            if (key is null || value is null)
            {
                throw new SafetensorsException(path,
                    $"metadata entry '{key}' has a null key or value; metadata must map strings to strings.");
            }

            json.WriteString(key, value);
        }

        json.WriteEndObject();
    }

    private static void CheckTensor(string path, string name, HostTensor tensor, HashSet<string> names)
    {
        if (name is null || tensor is null)
        {
            throw new SafetensorsException(path,
                $"tensor '{name}' has a null name or value; every entry needs a name and a tensor.");
        }

        if (name == "__metadata__")
        {
            throw new SafetensorsException(path,
                "a tensor cannot be named '__metadata__'; that key holds the file's metadata. Rename the tensor.");
        }

        if (!names.Add(name))
        {
            throw new SafetensorsException(path,
                $"the tensor name '{name}' is given twice; each tensor in a file needs a unique name.");
        }

        if (tensor.Type == DType.F4E2M1)
        {
            throw new SafetensorsException(path,
                $"tensor '{name}' is {tensor.Type.ShortName()} (packed fp4), which safetensors has no dtype for. " +
                "Store the packed bytes as a U8 or I8 tensor with the last dimension halved (two fp4 values per " +
                "byte) and note the real dtype in the metadata.");
        }

        if (SafetensorsDTypes.ToName(tensor.Type) is null)
        {
            throw new SafetensorsException(path,
                $"tensor '{name}' has dtype {tensor.Type.ShortName()}, which cannot be written. Supported dtypes: " +
                $"{SafetensorsDTypes.SupportedNames}.");
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the write already failed and that error is the one to report.
        }
    }
}
