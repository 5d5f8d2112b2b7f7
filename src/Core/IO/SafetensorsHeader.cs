using System.Buffers.Binary;
using Accel.Errors;
using Accel.Types;

namespace Accel.IO;

/// <summary>One tensor of a parsed header: its description and its byte range in the data section.</summary>
internal sealed record SafetensorsEntry(TensorDesc Desc, long Begin, long End)
{
    /// <summary>Bytes the tensor occupies.</summary>
    public long Length => End - Begin;
}

/// <summary>A parsed and fully validated safetensors header.</summary>
internal sealed class SafetensorsHeader
{
    /// <summary>The largest header accepted; larger ones are refused before anything is allocated.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>Bytes of the little-endian header-length prefix.</summary>
    public const int PrefixBytes = 8;

    public SafetensorsHeader(Dictionary<string, SafetensorsEntry> tensors, Dictionary<string, string> metadata)
    {
        Tensors = tensors;
        Metadata = metadata;
    }

    /// <summary>Tensors by name (ordinal).</summary>
    public Dictionary<string, SafetensorsEntry> Tensors { get; }

    /// <summary>The <c>__metadata__</c> object, empty when absent.</summary>
    public Dictionary<string, string> Metadata { get; }

    /// <summary>
    /// Checks the 8-byte prefix of a file of <paramref name="fileLength"/> bytes and returns the
    /// header length, which is then known to fit the file and the size limit.
    /// </summary>
    public static long ReadHeaderLength(string path, ReadOnlySpan<byte> prefix, long fileLength)
    {
        if (fileLength < PrefixBytes)
        {
            throw new SafetensorsException(path,
                $"the file is {fileLength} bytes long, shorter than the 8-byte header length every safetensors file " +
                "starts with. The file is empty or truncated; download or export it again.");
        }

        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        long rest = fileLength - PrefixBytes;
        if (n == 0)
        {
            throw new SafetensorsException(path,
                "the header length is 0, but a safetensors file needs a JSON header (at least \"{}\"). " +
                "The file is corrupt or not a safetensors file.");
        }

        if (n > (ulong)rest)
        {
            throw new SafetensorsException(path,
                $"the header length {n} is larger than the {rest} bytes that follow it. The file is truncated " +
                "or not a safetensors file; download or export it again.");
        }

        if (n > MaxHeaderBytes)
        {
            throw new SafetensorsException(path,
                $"the header length {n} exceeds the {MaxHeaderBytes}-byte limit for a safetensors header. " +
                "The file is corrupt or not a safetensors file.");
        }

        return (long)n;
    }

    /// <summary>
    /// Parses <paramref name="json"/> (the header bytes) and validates every entry against a data
    /// section of <paramref name="dataLength"/> bytes: dtypes, shapes, offsets, sizes and overlaps.
    /// </summary>
    public static SafetensorsHeader Parse(string path, ReadOnlySpan<byte> json, long dataLength)
    {
        SafetensorsHeader header = SafetensorsHeaderReader.Read(path, json, dataLength);
        CheckOverlaps(path, header.Tensors.Values);
        return header;
    }

    /// <summary>Checks a tensor's byte range and size once its entry has been read.</summary>
    internal static SafetensorsEntry MakeEntry(
        string path, string name, string dtype, List<long> dims, ulong begin, ulong end, long dataLength)
    {
        if (!SafetensorsDTypes.TryParse(dtype, out DType type))
        {
            throw new SafetensorsException(path,
                $"tensor '{name}' has dtype '{dtype}', which Accel does not support. Supported dtypes: " +
                $"{SafetensorsDTypes.SupportedNames}. Convert the tensor to one of them when exporting.");
        }

        var shape = new Shape(dims.ToArray());
        long elements = 1;
        foreach (long d in dims)
        {
            if (d != 0 && elements > long.MaxValue / d)
            {
                throw new SafetensorsException(path,
                    $"tensor '{name}' has shape {shape}, whose element count overflows a 64-bit integer. " +
                    "The header is corrupt.");
            }

            elements *= d;
        }

        if (begin > end || end > (ulong)dataLength)
        {
            throw new SafetensorsException(path,
                $"tensor '{name}' has data_offsets [{begin}, {end}], but offsets must satisfy " +
                $"0 <= begin <= end <= {dataLength} (the length of the data section). " +
                "The file is truncated or its header is corrupt.");
        }

        int elementBytes = type.Bits() / 8;
        long length = (long)(end - begin);
        if (elements > long.MaxValue / elementBytes || elements * elementBytes != length)
        {
            string need = elements > long.MaxValue / elementBytes ? "more than 2^63" : (elements * elementBytes).ToString();
            throw new SafetensorsException(path,
                $"tensor '{name}' ({dtype}, shape {shape}) spans {length} bytes (data_offsets [{begin}, {end}]) " +
                $"but {elements} elements of {dtype} need {need} bytes. The shape, dtype or offsets in the header " +
                "are wrong; export the file again.");
        }

        return new SafetensorsEntry(new TensorDesc(name, type, shape), (long)begin, (long)end);
    }

    private static void CheckOverlaps(string path, IEnumerable<SafetensorsEntry> entries)
    {
        // Empty tensors occupy no bytes, so they cannot overlap anything.
        var sorted = entries.Where(e => e.Length > 0).ToList();
        sorted.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        SafetensorsEntry? furthest = null;
        foreach (SafetensorsEntry e in sorted)
        {
            if (furthest is not null && e.Begin < furthest.End)
            {
                throw new SafetensorsException(path,
                    $"tensors '{furthest.Desc.Name}' (bytes [{furthest.Begin}, {furthest.End})) and " +
                    $"'{e.Desc.Name}' (bytes [{e.Begin}, {e.End})) overlap in the data section. Each tensor " +
                    "needs its own byte range; the header is corrupt, export the file again.");
            }

            if (furthest is null || e.End > furthest.End)
            {
                furthest = e;
            }
        }
    }
}
