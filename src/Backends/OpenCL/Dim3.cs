namespace Accel.Backends.OpenCL;

/// <summary>
/// A launch size in up to three dimensions (grid in groups, group in work-items, or an
/// implicitly grouped kernel's extent). Converts implicitly from <c>int</c> for 1-D launches.
/// </summary>
/// <param name="X">Size in x (ILGPU's <c>Grid.IdxX</c> / <c>Group.IdxX</c> / <c>Index.X</c>).</param>
/// <param name="Y">Size in y (default 1).</param>
/// <param name="Z">Size in z (default 1).</param>
public readonly record struct Dim3(int X, int Y = 1, int Z = 1)
{
    /// <summary>A 1-D size.</summary>
    public static implicit operator Dim3(int x) => new(x);

    /// <summary>The number of dimensions in use: 3 when Z &gt; 1, else 2 when Y &gt; 1, else 1.</summary>
    public int Rank => Z > 1 ? 3 : Y > 1 ? 2 : 1;

    /// <summary>X * Y * Z.</summary>
    public long Size => (long)X * Y * Z;

    /// <summary>Whether any dimension is zero (a launch of this size does nothing).</summary>
    public bool IsEmpty => X == 0 || Y == 0 || Z == 0;

    /// <summary>The size in dimension <paramref name="d"/> (0, 1 or 2).</summary>
    public int this[int d] => d switch
    {
        0 => X,
        1 => Y,
        2 => Z,
        _ => throw new ArgumentOutOfRangeException(nameof(d), d, "A dimension is 0, 1 or 2."),
    };

    /// <summary>Throws when a dimension is negative.</summary>
    internal void ThrowIfNegative(string name)
    {
        if (X < 0 || Y < 0 || Z < 0)
        {
            throw new ArgumentOutOfRangeException(name, this, $"{name} must not be negative.");
        }
    }

    /// <summary>Formats as <c>(x, y, z)</c>.</summary>
    public override string ToString() => $"({X}, {Y}, {Z})";
}
