using System.Collections.Immutable;
using Accel.Types;

namespace Accel.Graph;

/// <summary>
/// One dimension that may depend on the token count T: its value is
/// <c>PerToken * T + Constant</c>. Fixed dimensions have <see cref="PerToken"/> = 0.
/// </summary>
/// <param name="PerToken">Coefficient of T.</param>
/// <param name="Constant">Constant part.</param>
public readonly record struct Dim(long PerToken, long Constant)
{
    /// <summary>A fixed dimension.</summary>
    public static Dim Of(long value) => new(0, value);

    /// <summary>The token count T itself.</summary>
    public static Dim Tokens { get; } = new(1, 0);

    /// <summary>True when the dimension does not depend on T.</summary>
    public bool IsFixed => PerToken == 0;

    /// <summary>The value for a given token count.</summary>
    public long Resolve(long tokens) => checked(PerToken * tokens + Constant);

    /// <summary>This dimension times a constant.</summary>
    public Dim Times(long factor) => new(PerToken * factor, Constant * factor);

    /// <summary>This dimension plus a constant.</summary>
    public Dim Plus(long value) => new(PerToken, Constant + value);

    /// <summary>Implicit conversion from a fixed size.</summary>
    public static implicit operator Dim(long value) => Of(value);

    /// <inheritdoc/>
    public override string ToString() => (PerToken, Constant) switch
    {
        (0, var c) => c.ToString(System.Globalization.CultureInfo.InvariantCulture),
        (1, 0) => "T",
        (var p, 0) => $"{p}T",
        (1, var c) => $"T+{c}",
        (var p, var c) => $"{p}T+{c}",
    };
}

/// <summary>A shape whose dimensions may depend on T; compares by value.</summary>
public sealed class SymbolicShape : IEquatable<SymbolicShape>
{
    private readonly ImmutableArray<Dim> _dims;

    /// <summary>Creates a symbolic shape.</summary>
    public SymbolicShape(params Dim[] dims) => _dims = [.. dims];

    /// <summary>The dimensions.</summary>
    public ImmutableArray<Dim> Dims => _dims;

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims.Length;

    /// <summary>Dimension <paramref name="axis"/>.</summary>
    public Dim this[int axis] => _dims[axis];

    /// <summary>The concrete shape for a token count.</summary>
    public Shape Resolve(long tokens)
    {
        var dims = new long[_dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            dims[i] = _dims[i].Resolve(tokens);
        }

        return new Shape(dims);
    }

    /// <summary>Whether <paramref name="shape"/> is this shape resolved for <paramref name="tokens"/> tokens (<see cref="Resolve"/> without building it).</summary>
    public bool IsResolvedAs(Shape shape, long tokens)
    {
        if (shape.Rank != _dims.Length)
        {
            return false;
        }

        for (int i = 0; i < _dims.Length; i++)
        {
            if (shape[i] != _dims[i].Resolve(tokens))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A fixed symbolic shape from a concrete one.</summary>
    public static SymbolicShape From(Shape shape) => new([.. shape.Select(d => Dim.Of(d))]);

    /// <inheritdoc/>
    public bool Equals(SymbolicShape? other) => other is not null && _dims.AsSpan().SequenceEqual(other._dims.AsSpan());

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SymbolicShape);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in _dims)
        {
            h.Add(d);
        }

        return h.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => "[" + string.Join(", ", _dims) + "]";
}
