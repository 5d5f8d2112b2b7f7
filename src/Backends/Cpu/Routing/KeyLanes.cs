using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Accel.Backends.Cpu.Routing;

/// <summary>
/// The int-vector operations of the top-K selection in one width, so the selection is written once
/// and specialised per width by the JIT (the implementations are structs).
/// </summary>
/// <typeparam name="TV">The vector type.</typeparam>
internal unsafe interface IKeyLanes<TV> where TV : struct
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Width { get; }

    /// <summary>Loads one vector.</summary>
    static abstract TV Load(int* p);

    /// <summary>Stores one vector.</summary>
    static abstract void Store(TV v, int* p);

    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TV Splat(int value);

    /// <summary>Lane-wise maximum.</summary>
    static abstract TV Max(TV a, TV b);

    /// <summary>The largest lane.</summary>
    static abstract int Max(TV v);

    /// <summary>The first lane equal to <paramref name="value"/>, or -1.</summary>
    static abstract int IndexOf(TV v, int value);

    /// <summary><paramref name="v"/> with lane <paramref name="lane"/> set to <paramref name="value"/> (in registers).</summary>
    static abstract TV With(TV v, int lane, int value);

    /// <summary>The order keys of one vector of floats (see <see cref="TopKSelector"/>).</summary>
    static abstract TV Keys(float* values);
}

/// <summary>16 lanes (the AVX-512 path).</summary>
internal readonly unsafe struct KeyLanes512 : IKeyLanes<Vector512<int>>
{
    public static int Width => Vector512<int>.Count;

    public static Vector512<int> Load(int* p) => Vector512.Load(p);

    public static void Store(Vector512<int> v, int* p) => v.Store(p);

    public static Vector512<int> Splat(int value) => Vector512.Create(value);

    public static Vector512<int> Max(Vector512<int> a, Vector512<int> b) => Vector512.Max(a, b);

    public static int Max(Vector512<int> v) => IntLanes.Max(Vector256.Max(v.GetLower(), v.GetUpper()));

    public static int IndexOf(Vector512<int> v, int value) => Vector512.IndexOf(v, value);

    public static Vector512<int> With(Vector512<int> v, int lane, int value) =>
        Vector512.ConditionalSelect(Vector512.Equals(Vector512<int>.Indices, Vector512.Create(lane)), Vector512.Create(value), v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Keys(float* values)
    {
        var v = Vector512.Load(values);
        var bits = (v + Vector512<float>.Zero).AsInt32();
        var key = bits ^ (Vector512.ShiftRightArithmetic(bits, 31) & Vector512.Create(int.MaxValue));
        return Vector512.ConditionalSelect(Vector512.Equals(v, v).AsInt32(), key, Vector512.Create(TopKSelector.NaNKey));
    }
}

/// <summary><see cref="Vector{T}.Count"/> lanes (the portable path).</summary>
internal readonly unsafe struct KeyLanesPortable : IKeyLanes<Vector<int>>
{
    public static int Width => Vector<int>.Count;

    public static Vector<int> Load(int* p) => Vector.Load(p);

    public static void Store(Vector<int> v, int* p) => v.Store(p);

    public static Vector<int> Splat(int value) => new(value);

    public static Vector<int> Max(Vector<int> a, Vector<int> b) => Vector.Max(a, b);

    public static int Max(Vector<int> v) => Vector<int>.Count switch
    {
        8 => IntLanes.Max(v.AsVector256()),
        4 => IntLanes.Max(v.AsVector128()),
        16 => KeyLanes512.Max(v.AsVector512()),
        _ => IntLanes.MaxScalar(v),
    };

    public static int IndexOf(Vector<int> v, int value) => Vector<int>.Count switch
    {
        8 => Vector256.IndexOf(v.AsVector256(), value),
        4 => Vector128.IndexOf(v.AsVector128(), value),
        _ => Vector.IndexOf(v, value),
    };

    public static Vector<int> With(Vector<int> v, int lane, int value) =>
        Vector.ConditionalSelect(Vector.Equals(Vector<int>.Indices, new Vector<int>(lane)), new Vector<int>(value), v);

    public static Vector<int> Keys(float* values)
    {
        var v = Vector.Load(values);
        var bits = Vector.AsVectorInt32(v + Vector<float>.Zero);
        var key = bits ^ (Vector.ShiftRightArithmetic(bits, 31) & new Vector<int>(int.MaxValue));
        return Vector.ConditionalSelect(Vector.Equals(v, v), key, new Vector<int>(TopKSelector.NaNKey));
    }
}

/// <summary>The largest lane of 128- and 256-bit int vectors (a reduction tree of shuffles).</summary>
internal static class IntLanes
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Max(Vector256<int> v) => Max(Vector128.Max(v.GetLower(), v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Max(Vector128<int> q)
    {
        q = Vector128.Max(q, Vector128.Shuffle(q, Vector128.Create(2, 3, 0, 1)));
        q = Vector128.Max(q, Vector128.Shuffle(q, Vector128.Create(1, 0, 3, 2)));
        return q.ToScalar();
    }

    /// <summary>Any other width, lane by lane.</summary>
    public static int MaxScalar(Vector<int> v)
    {
        int m = v[0];
        for (int i = 1; i < Vector<int>.Count; i++) { m = Math.Max(m, v[i]); }
        return m;
    }
}
