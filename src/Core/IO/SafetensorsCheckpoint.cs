using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using Accel.Errors;
using Accel.Types;

namespace Accel.IO;

/// <summary>
/// The tensors of one safetensors file or of a folder of shards, seen as one set of names. A
/// folder with a <see cref="IndexFileName"/> is opened through the index's <c>weight_map</c>: only
/// the shards it names are opened (other files in the folder are ignored), each must exist and hold
/// the tensors mapped to it, and any further tensors those shards hold are included too. Without an
/// index every <c>*.safetensors</c> file directly in the folder is a shard. A tensor name held by
/// two shards is an error.
/// </summary>
public sealed class SafetensorsCheckpoint : ITensorSource, IDisposable
{
    /// <summary>The index file name a sharded checkpoint folder may hold.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    private readonly Dictionary<string, SafetensorsFile> _owner;
    private readonly ReadOnlyCollection<SafetensorsFile> _files;
    private readonly ReadOnlyCollection<string> _names;

    private SafetensorsCheckpoint(string path, List<SafetensorsFile> files, Dictionary<string, SafetensorsFile> owner)
    {
        Path = path;
        _files = files.AsReadOnly();
        _owner = owner;
        string[] names = owner.Keys.ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        _names = Array.AsReadOnly(names);
    }

    /// <summary>The file, folder or index file the checkpoint was opened from.</summary>
    public string Path { get; }

    /// <summary>The open shards, ordered by path.</summary>
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>Every tensor name over all shards, sorted ordinally.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>
    /// Opens <paramref name="path"/>: a <c>.safetensors</c> file, an index file
    /// (<c>*.index.json</c>), or a folder of shards. Throws <see cref="SafetensorsException"/> when
    /// a shard is missing or malformed, or a tensor is in two shards.
    /// </summary>
    public static SafetensorsCheckpoint Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        IReadOnlyList<string> shardPaths;
        Dictionary<string, string>? weightMap = null;
        string? indexPath = null;
        if (Directory.Exists(path))
        {
            string candidate = System.IO.Path.Combine(path, IndexFileName);
            if (File.Exists(candidate))
            {
                indexPath = candidate;
            }
        }
        else if (path.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase))
        {
            indexPath = path;
        }

        if (indexPath is not null)
        {
            string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(indexPath))!;
            weightMap = SafetensorsIndex.ReadWeightMap(indexPath, folder);
            shardPaths = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        }
        else if (Directory.Exists(path))
        {
            shardPaths = Directory.GetFiles(path, "*.safetensors", SearchOption.TopDirectoryOnly)
                .Order(StringComparer.Ordinal).ToArray();
            if (shardPaths.Count == 0)
            {
                throw new SafetensorsException(path,
                    $"the folder holds no *.safetensors files and no {IndexFileName}. Check the path.");
            }
        }
        else
        {
            shardPaths = [path];
        }

        var files = new List<SafetensorsFile>();
        try
        {
            foreach (string shard in shardPaths)
            {
                files.Add(SafetensorsFile.Open(shard));
            }

            return new SafetensorsCheckpoint(path, files, Union(path, indexPath, files, weightMap));
        }
        catch
        {
            files.ForEach(f => f.Dispose());
            throw;
        }
    }

    /// <summary>True when some shard holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _owner.ContainsKey(name);
    }

    /// <summary>
    /// The dtype and shape of <paramref name="name"/>; throws <see cref="SafetensorsException"/>
    /// naming the tensor and listing the closest names present when no shard holds it.
    /// </summary>
    public TensorDesc Describe(string name) => FileOf(name).Describe(name);

    /// <summary>The dtype and shape of <paramref name="name"/>, or false when no shard holds it.</summary>
    public bool TryDescribe(string name, [NotNullWhen(true)] out TensorDesc? desc)
    {
        ArgumentNullException.ThrowIfNull(name);
        desc = null;
        return _owner.TryGetValue(name, out SafetensorsFile? file) && file.TryDescribe(name, out desc);
    }

    /// <summary>A zero-copy view of the bytes of <paramref name="name"/>, valid until disposal.</summary>
    public ReadOnlySpan<byte> GetBytes(string name) => FileOf(name).GetBytes(name);

    /// <summary>Copies <paramref name="name"/> into a new host tensor that owns its memory.</summary>
    public HostTensor Read(string name) => FileOf(name).Read(name);

    /// <summary>The shard holding <paramref name="name"/>; throws like <see cref="Describe"/> when none does.</summary>
    public SafetensorsFile FileOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_owner.TryGetValue(name, out SafetensorsFile? file))
        {
            return file;
        }

        throw new SafetensorsException(Path,
            $"no shard of the checkpoint holds a tensor named '{name}'. " + NameSuggestions.Hint(name, _names));
    }

    /// <summary>Unmaps every shard.</summary>
    public void Dispose()
    {
        foreach (SafetensorsFile f in _files)
        {
            f.Dispose();
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Path} ({_files.Count} shard(s), {_names.Count} tensors)";

    private static Dictionary<string, SafetensorsFile> Union(
        string path, string? indexPath, List<SafetensorsFile> files, Dictionary<string, string>? weightMap)
    {
        var owner = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        foreach (SafetensorsFile file in files)
        {
            foreach (string name in file.Names)
            {
                if (!owner.TryAdd(name, file))
                {
                    throw new SafetensorsException(path,
                        $"tensor '{name}' is in two shards, '{owner[name].Path}' and '{file.Path}'. A checkpoint " +
                        "must hold each tensor once; remove the extra copy or the stray shard.");
                }
            }
        }

        if (weightMap is not null)
        {
            var byPath = files.ToDictionary(f => f.Path, StringComparer.Ordinal);
            foreach ((string name, string shard) in weightMap)
            {
                if (!byPath[shard].Contains(name))
                {
                    throw new SafetensorsException(indexPath!,
                        $"the weight_map puts tensor '{name}' in '{shard}', but that shard does not hold it. " +
                        "The index and the shards do not match; download them again or regenerate the index.");
                }
            }
        }

        return owner;
    }
}
