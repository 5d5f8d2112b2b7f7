using System.Diagnostics.CodeAnalysis;
using Accel.Types;

namespace Accel.IO;

/// <summary>Named tensors to load weights from (a safetensors checkpoint, or an in-memory map).</summary>
public interface ITensorSource
{
    /// <summary>Every tensor name.</summary>
    IReadOnlyList<string> Names { get; }

    /// <summary>The descriptor of <paramref name="name"/>, if present.</summary>
    bool TryDescribe(string name, [NotNullWhen(true)] out TensorDesc? desc);

    /// <summary>Reads <paramref name="name"/> into an owned host tensor.</summary>
    HostTensor Read(string name);
}

/// <summary>An <see cref="ITensorSource"/> over a dictionary (tests, generated layers).</summary>
/// <param name="tensors">The tensors by name.</param>
public sealed class InMemoryTensorSource(IReadOnlyDictionary<string, HostTensor> tensors) : ITensorSource
{
    /// <inheritdoc/>
    public IReadOnlyList<string> Names { get; } = [.. tensors.Keys.Order(StringComparer.Ordinal)];

    /// <inheritdoc/>
    public bool TryDescribe(string name, [NotNullWhen(true)] out TensorDesc? desc)
    {
        desc = tensors.TryGetValue(name, out var t) ? new TensorDesc(name, t.Type, t.Shape) : null;
        return desc is not null;
    }

    /// <inheritdoc/>
    public HostTensor Read(string name) => tensors.TryGetValue(name, out var t)
        ? t
        : throw new Errors.InvalidInputException($"The tensor '{name}' is not present.");
}
