using Accel.Errors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Accel.Profiles;

/// <summary>
/// Loads hardware profiles: every <c>*.json</c> file (except <c>schema.json</c>) of the folder shipped
/// next to the running assembly (<see cref="ShippedFolder"/>), then of any extra folders a caller
/// passes. A later folder's profile replaces an earlier one with the same id; each replacement is
/// logged and listed in <see cref="ProfileCatalog.Overrides"/>. Two files with one id in the same
/// folder are an error.
/// </summary>
/// <param name="logger">Receives a note for every override; optional.</param>
public sealed class HardwareProfileLoader(ILogger<HardwareProfileLoader>? logger = null)
{
    /// <summary>The name of the profile folder shipped with the tool.</summary>
    public const string FolderName = "hw-profiles";

    /// <summary>The schema file in a profile folder; it is not a profile and is skipped.</summary>
    public const string SchemaFileName = "schema.json";

    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    /// <summary>The shipped profile folder: <c>hw-profiles</c> under <see cref="AppContext.BaseDirectory"/>.</summary>
    public static string ShippedFolder => Path.Combine(AppContext.BaseDirectory, FolderName);

    /// <summary>
    /// Loads the shipped profiles, then those in <paramref name="extraFolders"/> in order (later
    /// folders override earlier ids).
    /// </summary>
    /// <exception cref="ProfileException">A file is malformed, or two files in one folder share an id.</exception>
    /// <exception cref="AccelException">A folder does not exist.</exception>
    public ProfileCatalog LoadCatalog(IEnumerable<string>? extraFolders = null) =>
        LoadFolders([ShippedFolder, .. extraFolders ?? []]);

    /// <summary>Loads exactly the given folders, in order (later folders override earlier ids).</summary>
    /// <exception cref="ProfileException">A file is malformed, or two files in one folder share an id.</exception>
    /// <exception cref="AccelException">A folder does not exist.</exception>
    public ProfileCatalog LoadFolders(IEnumerable<string> folders)
    {
        ArgumentNullException.ThrowIfNull(folders);
        var entries = new Dictionary<string, ProfileCatalog.Entry>(StringComparer.Ordinal);
        var overrides = new List<ProfileOverride>();
        foreach (var folder in folders)
        {
            foreach (var (profile, file) in LoadFolder(folder))
            {
                if (entries.TryGetValue(profile.Id, out var earlier))
                {
                    var note = new ProfileOverride(profile.Id, earlier.File, file);
                    overrides.Add(note);
                    _logger.LogInformation("{Note}", note.ToString());
                }

                entries[profile.Id] = new ProfileCatalog.Entry(profile, file);
            }
        }

        return new ProfileCatalog(entries.Values, overrides);
    }

    /// <summary>Loads one folder's profiles, sorted by file name.</summary>
    /// <exception cref="ProfileException">A file is malformed, or two files share an id.</exception>
    /// <exception cref="AccelException">The folder does not exist.</exception>
    internal static IReadOnlyList<(HardwareProfile Profile, string File)> LoadFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            var hint = Path.GetFullPath(folder) == Path.GetFullPath(ShippedFolder)
                ? " The shipped profiles are copied there by the Accel.Core build; rebuild, or pass a folder " +
                  "explicitly."
                : " Create it or pass an existing folder.";
            throw new AccelException($"Hardware profile folder '{folder}' does not exist.{hint}");
        }

        var files = Directory.EnumerateFiles(folder, "*.json", SearchOption.TopDirectoryOnly)
            .Where(f => !string.Equals(Path.GetFileName(f), SchemaFileName, StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);
        var byId = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new List<(HardwareProfile, string)>();
        foreach (var file in files)
        {
            var profile = LoadFile(file);
            if (byId.TryGetValue(profile.Id, out var first))
            {
                throw new ProfileException(file, "$.id",
                    $"id '{profile.Id}' is already used by '{first}' in the same folder; ids must be unique " +
                    $"within a folder (name each file <id>.json).");
            }

            byId.Add(profile.Id, file);
            result.Add((profile, file));
        }

        return result;
    }

    /// <summary>Loads and validates one profile file.</summary>
    /// <exception cref="ProfileException">The file cannot be read or is malformed.</exception>
    public static HardwareProfile LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProfileException(path, "$", $"the file cannot be read: {e.Message}");
        }

        return Parse(text, path);
    }

    /// <summary>
    /// Parses and validates profile JSON; <paramref name="file"/> is only used to name it in messages.
    /// </summary>
    /// <exception cref="ProfileException">The JSON is malformed or breaks a rule.</exception>
    public static HardwareProfile Parse(string json, string file)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentException.ThrowIfNullOrEmpty(file);
        return ProfileParser.Parse(json, file);
    }
}

/// <summary>A profile from a later folder replaced one with the same id from an earlier folder.</summary>
/// <param name="Id">The profile id.</param>
/// <param name="ReplacedFile">The earlier file, no longer used.</param>
/// <param name="File">The file now in effect.</param>
public sealed record ProfileOverride(string Id, string ReplacedFile, string File)
{
    /// <summary>A one-line note for logs.</summary>
    public override string ToString() =>
        $"Hardware profile '{Id}' from '{File}' overrides the one from '{ReplacedFile}'.";
}
