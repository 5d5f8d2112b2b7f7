using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Accel.Moe;

/// <summary>
/// A counter-based generator: the value at (seed, stream, index) is a SplitMix64-style hash of
/// the three, so any element can be made on its own, by any thread, in any order, and always
/// comes out the same. Used for synthetic weights.
/// </summary>
public static class CounterRandom
{
    private const ulong Golden = 0x9E3779B97F4A7C15;

    /// <summary>The SplitMix64 finaliser: a bijection on 64 bits that spreads every input bit.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>The stream of <paramref name="name"/> under <paramref name="seed"/> (an FNV-1a hash of the name, mixed with the seed).</summary>
    public static ulong Stream(int seed, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ulong h = 14695981039346656037;
        foreach (char c in name)
        {
            h = (h ^ c) * 1099511628211;
        }

        return Mix(h ^ Mix((uint)seed + Golden));
    }

    /// <summary>64 random bits for element <paramref name="index"/> of <paramref name="stream"/>.</summary>
    public static ulong Bits(ulong stream, long index) => Mix(stream + (ulong)index * Golden);

    /// <summary>
    /// Writes elements <paramref name="start"/> .. start + length - 1 of <paramref name="stream"/> as
    /// uniform values in [-<paramref name="bound"/>, <paramref name="bound"/>): each pair of elements
    /// shares one 64-bit hash, the even element taking its top 24 bits and the odd one bits 8..31.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void FillUniform(ulong stream, long start, Span<float> destination, float bound)
    {
        int k = 0;
        long j = start;
        if ((j & 1) != 0 && destination.Length > 0)
        {
            destination[k++] = Uniform((uint)(Bits(stream, j >> 1) >> 8) & 0xFFFFFF, bound);
            j++;
        }

        if (Vector512.IsHardwareAccelerated)
        {
            // Eight hashes at a time; each 64-bit lane becomes the pair (top 24 bits, bits 8..31)
            // as two 32-bit lanes, in element order. The float steps are the scalar ones.
            var lanes = Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
            var golden = Vector512.Create(Golden);
            var unit = Vector512.Create(1f / (1 << 23));
            var one = Vector512<float>.One;
            var b = Vector512.Create(bound);
            for (; k + 16 <= destination.Length; k += 16, j += 16)
            {
                var z = Vector512.Create(stream) + (Vector512.Create((ulong)(j >> 1)) + lanes) * golden;
                z = (z ^ Vector512.ShiftRightLogical(z, 30)) * Vector512.Create(0xBF58476D1CE4E5B9UL);
                z = (z ^ Vector512.ShiftRightLogical(z, 27)) * Vector512.Create(0x94D049BB133111EBUL);
                z ^= Vector512.ShiftRightLogical(z, 31);
                var pair = Vector512.ShiftRightLogical(z, 40) | Vector512.ShiftLeft(Vector512.ShiftRightLogical(z, 8) & Vector512.Create(0xFFFFFFUL), 32);
                var f = Vector512.ConvertToSingle(pair.AsUInt32());
                ((f * unit - one) * b).CopyTo(destination[k..]);
            }
        }

        for (; k + 1 < destination.Length; k += 2, j += 2)
        {
            ulong h = Bits(stream, j >> 1);
            destination[k] = Uniform((uint)(h >> 40), bound);
            destination[k + 1] = Uniform((uint)(h >> 8) & 0xFFFFFF, bound);
        }

        if (k < destination.Length)
        {
            destination[k] = Uniform((uint)(Bits(stream, j >> 1) >> 40), bound);
        }
    }

    /// <summary>A 24-bit integer mapped to [-bound, bound): the offset from 1 is exact, one rounding in the product.</summary>
    private static float Uniform(uint bits24, float bound) => (bits24 * (1f / (1 << 23)) - 1f) * bound;
}
