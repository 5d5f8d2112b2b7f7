using System.Text;

namespace Accel.Conformance;

/// <summary>
/// The random source of a case: SplitMix64 seeded from the case id, written out here so that the
/// inputs of a case are the same on every runtime and machine (System.Random does not promise it).
/// </summary>
/// <param name="seed">The seed, usually <see cref="SeedOf"/>.</param>
public sealed class CaseRandom(ulong seed)
{
    private ulong _state = seed;

    /// <summary>FNV-1a (64-bit) of the UTF-8 id, mixed with the attempt number.</summary>
    public static ulong SeedOf(string id, int attempt = 0)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (byte b in Encoding.UTF8.GetBytes(id))
        {
            h = (h ^ b) * 0x100000001B3UL;
        }

        return h ^ ((ulong)attempt * 0x9E3779B97F4A7C15UL);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, <paramref name="n"/>).</summary>
    public int Next(int n) => n <= 0 ? 0 : (int)(NextUInt64() % (ulong)n);

    /// <summary>A non-negative 31-bit seed for APIs that take an int.</summary>
    public int NextSeed() => (int)(NextUInt64() >> 33);

    /// <summary>Uniform in [<paramref name="lo"/>, <paramref name="hi"/>).</summary>
    public float Uniform(float lo, float hi) => (float)(lo + (hi - lo) * NextDouble());

    /// <summary><paramref name="count"/> values uniform in [lo, hi).</summary>
    public float[] Floats(long count, float lo, float hi)
    {
        var v = new float[count];
        for (long i = 0; i < count; i++) { v[i] = Uniform(lo, hi); }
        return v;
    }

    /// <summary>Fisher-Yates shuffle.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
