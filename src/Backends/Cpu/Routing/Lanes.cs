using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Accel.Backends.Cpu.Routing;

/// <summary>
/// Reductions across the lanes of one vector and the id range search, in the two widths the
/// routing kernels run: 16 lanes (<see cref="Vector512{T}"/>, the AVX-512 path) or
/// <see cref="Vector{T}.Count"/> lanes (the portable path).
/// </summary>
internal static unsafe class Lanes
{
    /// <summary>Lanes of an int or float vector on the chosen path.</summary>
    public static int Width(bool wide) => wide ? Vector512<int>.Count : Vector<int>.Count;

    /// <summary>The largest lane (the lanes hold no NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(Vector512<float> v)
    {
        var h = Vector256.MaxNative(v.GetLower(), v.GetUpper());
        var q = Vector128.MaxNative(h.GetLower(), h.GetUpper());
        q = Vector128.MaxNative(q, Vector128.Shuffle(q, Vector128.Create(2, 3, 0, 1)));
        q = Vector128.MaxNative(q, Vector128.Shuffle(q, Vector128.Create(1, 0, 3, 2)));
        return q.ToScalar();
    }

    /// <summary>The largest lane (portable width; the lanes hold no NaN).</summary>
    public static float Max(Vector<float> v)
    {
        float m = v[0];
        for (int i = 1; i < Vector<float>.Count; i++) { m = v[i] > m ? v[i] : m; }
        return m;
    }

    /// <summary>The sum of the lanes, in fp64.</summary>
    public static double Sum(Vector512<float> v)
    {
        var d = Vector512.WidenLower(v) + Vector512.WidenUpper(v);
        var h = d.GetLower() + d.GetUpper();
        var q = h.GetLower() + h.GetUpper();
        return q.GetElement(0) + q.GetElement(1);
    }

    /// <summary>The sum of the lanes, in fp64 (portable width).</summary>
    public static double Sum(Vector<float> v)
    {
        double s = 0;
        for (int i = 0; i < Vector<float>.Count; i++) { s += v[i]; }
        return s;
    }

    /// <summary>
    /// The position of the first of the <paramref name="n"/> ids outside 0..<paramref name="limit"/>-1,
    /// or -1 when every id is inside.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static long FirstOutside(int* ids, long n, int limit, bool wide)
    {
        long i = 0;
        if (wide)
        {
            var l = Vector512.Create((uint)limit);
            for (; i + 16 <= n; i += 16)
            {
                if (Vector512.GreaterThanOrEqualAny(Vector512.Load((uint*)ids + i), l)) { break; }
            }
        }
        else
        {
            var l = new Vector<uint>((uint)limit);
            for (; i + Vector<uint>.Count <= n; i += Vector<uint>.Count)
            {
                if (Vector.GreaterThanOrEqualAny(Vector.Load((uint*)ids + i), l)) { break; }
            }
        }

        for (; i < n; i++)
        {
            if ((uint)ids[i] >= (uint)limit)
            {
                return i;
            }
        }

        return -1;
    }
}
