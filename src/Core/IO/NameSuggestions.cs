namespace Accel.IO;

/// <summary>Finds the names closest to a missing one, for "did you mean" error messages.</summary>
internal static class NameSuggestions
{
    /// <summary>The most names a message lists.</summary>
    public const int MaxSuggestions = 5;

    /// <summary>Up to <paramref name="max"/> names from <paramref name="names"/>, closest first.</summary>
    public static IReadOnlyList<string> Closest(string missing, IEnumerable<string> names, int max = MaxSuggestions)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        var best = new List<(int Distance, string Name)>(max + 1);
        if (max == 0)
        {
            return [];
        }

        foreach (string name in names)
        {
            // A name at the current worst distance can still win the tie on ordinal order.
            int limit = best.Count == max ? best[^1].Distance + 1 : int.MaxValue;
            int d = Distance(missing, name, limit);
            if (d >= limit)
            {
                continue;
            }

            int at = best.FindIndex(b => b.Distance > d || (b.Distance == d && string.CompareOrdinal(b.Name, name) > 0));
            best.Insert(at < 0 ? best.Count : at, (d, name));
            if (best.Count > max)
            {
                best.RemoveAt(best.Count - 1);
            }
        }

        return best.Select(b => b.Name).ToArray();
    }

    /// <summary>
    /// The sentence a "tensor not found" message ends with: the closest names present, or a note
    /// that there are none.
    /// </summary>
    public static string Hint(string missing, IReadOnlyCollection<string> names)
    {
        if (names.Count == 0)
        {
            return "It holds no tensors at all.";
        }

        IReadOnlyList<string> closest = Closest(missing, names);
        return $"It holds {names.Count} tensor(s); the closest names are: " +
               string.Join(", ", closest.Select(n => $"'{n}'")) + ". Check the spelling and the name prefix.";
    }

    /// <summary>
    /// Levenshtein distance, but gives up (returning <paramref name="limit"/>) as soon as the result
    /// cannot be below <paramref name="limit"/>, which keeps searches over large files quick.
    /// </summary>
    internal static int Distance(string a, string b, int limit = int.MaxValue)
    {
        if (Math.Abs(a.Length - b.Length) >= limit)
        {
            return limit;
        }

        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            int rowMin = current[0];
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                rowMin = Math.Min(rowMin, current[j]);
            }

            if (rowMin >= limit)
            {
                return limit;
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
