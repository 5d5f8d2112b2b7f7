using System.Text.Json;
using Accel.Errors;

namespace Accel.IO;

/// <summary>Reads the <c>weight_map</c> of a sharded checkpoint's index file.</summary>
internal static class SafetensorsIndex
{
    /// <summary>The largest index file accepted.</summary>
    private const long MaxIndexBytes = 100_000_000;

    /// <summary>
    /// Reads <paramref name="indexPath"/> and returns tensor name to shard path (full paths inside
    /// <paramref name="folder"/>), checking that every shard it names exists.
    /// </summary>
    public static Dictionary<string, string> ReadWeightMap(string indexPath, string folder)
    {
        Dictionary<string, string> map = ParseWeightMap(indexPath);
        string root = System.IO.Path.GetFullPath(folder);
        root = System.IO.Path.EndsInDirectorySeparator(root) ? root : root + System.IO.Path.DirectorySeparatorChar;
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        var shards = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string tensor, string shard) in map)
        {
            if (!shards.TryGetValue(shard, out string? full))
            {
                full = System.IO.Path.GetFullPath(System.IO.Path.Combine(root, shard));
                if (System.IO.Path.IsPathRooted(shard) || !full.StartsWith(root, StringComparison.Ordinal))
                {
                    throw new SafetensorsException(indexPath,
                        $"the weight_map maps tensor '{tensor}' to '{shard}', which is not a file inside the " +
                        "checkpoint folder. Shards must be named relative to the folder holding the index.");
                }

                if (!File.Exists(full))
                {
                    int count = map.Values.Count(v => v == shard);
                    throw new SafetensorsException(indexPath,
                        $"the weight_map names the shard '{shard}' (for {count} tensor(s), e.g. '{tensor}'), but that " +
                        "file does not exist in the checkpoint folder. Download the missing shard or fix the index.");
                }

                shards.Add(shard, full);
            }

            resolved.Add(tensor, full);
        }

        return resolved;
    }

    private static Dictionary<string, string> ParseWeightMap(string indexPath)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(indexPath);
            if (info.Length > MaxIndexBytes)
            {
                throw new SafetensorsException(indexPath,
                    $"the index file is {info.Length} bytes, more than the {MaxIndexBytes}-byte limit. " +
                    "It is not a checkpoint index.");
            }

            bytes = File.ReadAllBytes(indexPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsException(indexPath, $"the index file could not be read: {ex.Message}");
        }

        try
        {
            using JsonDocument doc = JsonDocument.Parse(bytes);
            if (doc.RootElement.ValueKind != JsonValueKind.Object ||
                !doc.RootElement.TryGetProperty("weight_map", out JsonElement weights) ||
                weights.ValueKind != JsonValueKind.Object)
            {
                throw new SafetensorsException(indexPath,
                    "the index must be a JSON object with a \"weight_map\" object mapping tensor names to shard " +
                    "file names. Fix or regenerate the index.");
            }

            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonProperty p in weights.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(p.Value.GetString()))
                {
                    throw new SafetensorsException(indexPath,
                        $"the weight_map entry for '{p.Name}' must be a shard file name (a non-empty string). " +
                        "Fix or regenerate the index.");
                }

                string shard = p.Value.GetString()!;
                if (!map.TryAdd(p.Name, shard) && map[p.Name] != shard)
                {
                    throw new SafetensorsException(indexPath,
                        $"the weight_map lists tensor '{p.Name}' twice, in '{map[p.Name]}' and in '{shard}'. " +
                        "Fix or regenerate the index.");
                }
            }

            if (map.Count == 0)
            {
                throw new SafetensorsException(indexPath,
                    "the weight_map is empty, so the index names no shards. Fix or regenerate the index.");
            }

            return map;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new SafetensorsException(indexPath,
                $"the index is not valid JSON ({ex.Message}). Fix or regenerate the index.");
        }
    }
}
