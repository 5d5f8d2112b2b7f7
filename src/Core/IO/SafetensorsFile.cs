using System.Collections.ObjectModel;
using System.Diagnostics.CodeAnalysis;
using System.IO.MemoryMappedFiles;
using Accel.Errors;
using Accel.Types;

namespace Accel.IO;

/// <summary>
/// A safetensors file opened read-only through a memory mapping. The whole header is parsed and
/// validated by <see cref="Open"/>; afterwards every tensor's bytes are known to lie inside the
/// file, so <see cref="GetBytes"/> is a bounds-safe zero-copy view. Instances are safe to read
/// from several threads; the views stay valid until <see cref="Dispose"/>.
/// </summary>
public sealed unsafe class SafetensorsFile : ITensorSource, IDisposable
{
    private readonly SafetensorsHeader _header;
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly byte* _data;
    private readonly ReadOnlyCollection<string> _names;
    private bool _pointerHeld;
    private bool _disposed;

    private SafetensorsFile(string path, SafetensorsHeader header, MemoryMappedFile map,
        MemoryMappedViewAccessor view, byte* data)
    {
        Path = path;
        _header = header;
        _map = map;
        _view = view;
        _data = data;
        _pointerHeld = true;
        string[] names = header.Tensors.Keys.ToArray();
        Array.Sort(names, StringComparer.Ordinal);
        _names = Array.AsReadOnly(names);
        Metadata = new ReadOnlyDictionary<string, string>(header.Metadata);
    }

    /// <summary>The path the file was opened from.</summary>
    public string Path { get; }

    /// <summary>The string-to-string <c>__metadata__</c> of the header; empty when absent.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor names, sorted ordinally.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>
    /// Maps the file at <paramref name="path"/> read-only (other readers may share it) and validates
    /// its header. Throws <see cref="SafetensorsException"/> when the file is missing, unreadable,
    /// truncated or malformed.
    /// </summary>
    public static SafetensorsFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        FileStream stream = OpenStream(path);
        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        bool pointerHeld = false;
        try
        {
            long length = stream.Length;
            if (length < SafetensorsHeader.PrefixBytes)
            {
                // Also covers the empty file, which cannot be mapped at all.
                SafetensorsHeader.ReadHeaderLength(path, default, length);
            }

            map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read,
                HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* basePtr = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref basePtr);
            pointerHeld = true;
            basePtr += view.PointerOffset;

            var prefix = new ReadOnlySpan<byte>(basePtr, SafetensorsHeader.PrefixBytes);
            long headerLength = SafetensorsHeader.ReadHeaderLength(path, prefix, length);
            var json = new ReadOnlySpan<byte>(basePtr + SafetensorsHeader.PrefixBytes, (int)headerLength);
            long dataStart = SafetensorsHeader.PrefixBytes + headerLength;
            SafetensorsHeader header = SafetensorsHeader.Parse(path, json, length - dataStart);
            return new SafetensorsFile(path, header, map, view, basePtr + dataStart);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Release(view, map, stream, pointerHeld);
            throw new SafetensorsException(path, $"the file could not be mapped for reading: {ex.Message}");
        }
        catch
        {
            Release(view, map, stream, pointerHeld);
            throw;
        }
    }

    /// <summary>True when the file holds a tensor named <paramref name="name"/>.</summary>
    public bool Contains(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _header.Tensors.ContainsKey(name);
    }

    /// <summary>
    /// The dtype and shape of <paramref name="name"/>; throws <see cref="SafetensorsException"/>
    /// naming the tensor and listing the closest names present when it is absent.
    /// </summary>
    public TensorDesc Describe(string name) => Entry(name).Desc;

    /// <summary>The dtype and shape of <paramref name="name"/>, or false when the file lacks it.</summary>
    public bool TryDescribe(string name, [NotNullWhen(true)] out TensorDesc? desc)
    {
        ArgumentNullException.ThrowIfNull(name);
        desc = _header.Tensors.TryGetValue(name, out SafetensorsEntry? e) ? e.Desc : null;
        return desc is not null;
    }

    /// <summary>
    /// A zero-copy view of the raw little-endian bytes of <paramref name="name"/>, valid until this
    /// file is disposed. Tensors of 2 GiB or more cannot be viewed as one span.
    /// </summary>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        SafetensorsEntry e = Entry(name);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (e.Length > Array.MaxLength)
        {
            throw new SafetensorsException(Path,
                $"tensor '{name}' is {e.Length} bytes, more than one span or array can hold ({Array.MaxLength} " +
                "bytes). Split the tensor into smaller ones when exporting.");
        }

        return new ReadOnlySpan<byte>(_data + e.Begin, (int)e.Length);
    }

    /// <summary>Copies <paramref name="name"/> into a new host tensor that owns its memory.</summary>
    public HostTensor Read(string name)
    {
        ReadOnlySpan<byte> bytes = GetBytes(name);
        TensorDesc desc = _header.Tensors[name].Desc;
        return new HostTensor(desc.Type, desc.Shape, bytes.ToArray());
    }

    /// <summary>Unmaps the file; spans obtained from <see cref="GetBytes"/> must no longer be used.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Release(_view, _map, null, _pointerHeld);
        _pointerHeld = false;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Path} ({_names.Count} tensors)";

    internal SafetensorsEntry Entry(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_header.Tensors.TryGetValue(name, out SafetensorsEntry? e))
        {
            return e;
        }

        throw new SafetensorsException(Path,
            $"there is no tensor named '{name}'. " + NameSuggestions.Hint(name, _names));
    }

    private static FileStream OpenStream(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SafetensorsException(path, "the file does not exist. Check the path.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new SafetensorsException(path, $"the file could not be opened for reading: {ex.Message}");
        }
    }

    private static void Release(MemoryMappedViewAccessor? view, MemoryMappedFile? map, FileStream? stream, bool pointerHeld)
    {
        if (pointerHeld)
        {
            view?.SafeMemoryMappedViewHandle.ReleasePointer();
        }

        view?.Dispose();
        map?.Dispose();
        stream?.Dispose();
    }
}
