using System.Diagnostics.CodeAnalysis;
using Accel.Errors;

namespace Accel.Profiles;

/// <summary>Loaded hardware profiles by id, with the file each came from. Immutable.</summary>
public sealed class ProfileCatalog
{
    private readonly SortedDictionary<string, Entry> _entries;

    internal ProfileCatalog(IEnumerable<Entry> entries, IEnumerable<ProfileOverride> overrides)
    {
        _entries = new SortedDictionary<string, Entry>(entries.ToDictionary(e => e.Profile.Id), StringComparer.Ordinal);
        Overrides = ValueList.From(overrides);
    }

    /// <summary>The ids, sorted.</summary>
    public IReadOnlyList<string> Ids => [.. _entries.Keys];

    /// <summary>The profiles, sorted by id.</summary>
    public IReadOnlyList<HardwareProfile> Profiles => [.. _entries.Values.Select(e => e.Profile)];

    /// <summary>The number of profiles.</summary>
    public int Count => _entries.Count;

    /// <summary>Profiles that a later folder replaced, in load order.</summary>
    public IReadOnlyList<ProfileOverride> Overrides { get; }

    /// <summary>True when a profile with <paramref name="id"/> is loaded.</summary>
    public bool Contains(string id) => _entries.ContainsKey(id);

    /// <summary>Looks up a profile by id.</summary>
    public bool TryGet(string id, [NotNullWhen(true)] out HardwareProfile? profile)
    {
        ArgumentNullException.ThrowIfNull(id);
        profile = _entries.TryGetValue(id, out var entry) ? entry.Profile : null;
        return profile is not null;
    }

    /// <summary>The profile with <paramref name="id"/>.</summary>
    /// <exception cref="AccelException">No such profile; the message lists the known ids.</exception>
    public HardwareProfile Get(string id) =>
        TryGet(id, out var profile)
            ? profile
            : throw new AccelException(
                $"Unknown hardware profile '{id}'. Known profiles: {string.Join(", ", _entries.Keys)}. " +
                $"To add one, write '{id}.json' into a profile folder (see docs/profiles.md).");

    /// <summary>The file the profile <paramref name="id"/> was loaded from.</summary>
    /// <exception cref="AccelException">No such profile.</exception>
    public string FileOf(string id)
    {
        _ = Get(id);
        return _entries[id].File;
    }

    /// <summary>
    /// The profile whose match rules fit <paramref name="probe"/> best (the most specific rule wins;
    /// ties go to the smaller id), or null when none matches.
    /// </summary>
    public HardwareProfile? FindBestMatch(DeviceProbe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        HardwareProfile? best = null;
        var bestScore = -1;
        foreach (var entry in _entries.Values)
        {
            foreach (var rule in entry.Profile.Match)
            {
                if (rule.Matches(probe) && rule.Specificity > bestScore)
                {
                    best = entry.Profile;
                    bestScore = rule.Specificity;
                }
            }
        }

        return best;
    }

    internal sealed record Entry(HardwareProfile Profile, string File);
}
