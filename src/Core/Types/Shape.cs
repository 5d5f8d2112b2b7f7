using System.Collections;
using System.Collections.Immutable;

namespace Accel.Types;

/// <summary>An immutable tensor shape that compares by value and prints as <c>[2, 3]</c>.</summary>
public sealed class Shape : IEquatable<Shape>, IReadOnlyList<long>
{
    private readonly ImmutableArray<long> _dims;

    /// <summary>Creates a shape; every dimension must be non-negative.</summary>
    public Shape(params long[] dims) : this(ImmutableArray.Create(dims)) { }

    /// <summary>Creates a shape from an immutable array of dimensions.</summary>
    public Shape(ImmutableArray<long> dims)
    {
        foreach (long d in dims)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(d, nameof(dims));
        }

        _dims = dims;
    }

    /// <summary>The scalar shape <c>[]</c>.</summary>
    public static Shape Scalar { get; } = new();

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.Length;

    /// <inheritdoc/>
    public int Count => _dims.Length;

    /// <inheritdoc/>
    public long this[int index] => _dims[index];

    /// <summary>Total number of elements (1 for a scalar).</summary>
    public long Elements
    {
        get
        {
            long n = 1;
            foreach (long d in _dims)
            {
                n = checked(n * d);
            }

            return n;
        }
    }

    /// <summary>A copy with dimension <paramref name="axis"/> replaced.</summary>
    public Shape With(int axis, long value) => new(_dims.SetItem(axis, value));

    /// <inheritdoc/>
    public bool Equals(Shape? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims.AsSpan());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as Shape);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (long d in _dims)
        {
            h.Add(d);
        }

        return h.ToHashCode();
    }

    /// <summary>Value equality.</summary>
    public static bool operator ==(Shape? a, Shape? b) => a is null ? b is null : a.Equals(b);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(Shape? a, Shape? b) => !(a == b);

    /// <inheritdoc/>
    public IEnumerator<long> GetEnumerator() => ((IEnumerable<long>)_dims).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public override string ToString() => "[" + string.Join(", ", _dims) + "]";
}

/// <summary>Describes a tensor: its name, element type and shape.</summary>
/// <param name="Name">A name unique within its graph or file.</param>
/// <param name="Type">The element type.</param>
/// <param name="Shape">The shape.</param>
public sealed record TensorDesc(string Name, DType Type, Shape Shape)
{
    /// <summary>Bytes the tensor occupies.</summary>
    public long ByteSize => Type.ByteSize(Shape.Elements);

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Type.ShortName()}{Shape}";
}
