using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Accel.IO;

/// <summary>
/// Short texts about bad JSON for error messages: the JSON reader's reason without its position
/// suffix, advice about reader options or long quotes of the input, and JSON values cut to a length
/// a message can carry.
/// </summary>
internal static partial class JsonErrorText
{
    /// <summary>The longest quote of the input a message carries.</summary>
    public const int MaxQuote = 40;

    /// <summary>What is wrong, in the reader's words, cut short (e.g. <c>'}' is invalid after a value.</c>).</summary>
    public static string Reason(JsonException e)
    {
        string reason = e.Message;
        foreach (string tail in new[] { " LineNumber:", " Path:", " Change the reader options." })
        {
            int cut = reason.IndexOf(tail, StringComparison.Ordinal);
            if (cut > 0)
            {
                reason = reason[..cut];
            }
        }

        reason = LongQuote().Replace(reason, m => $"'{m.Groups[1].Value[..MaxQuote]}...'");
        return Shorten(reason.Trim(), 200);
    }

    /// <summary>Where the reader stopped, e.g. <c>line 3, byte 14</c> (1-based), or the empty string.</summary>
    public static string Where(JsonException e) => e.LineNumber is { } line
        ? string.Create(CultureInfo.InvariantCulture, $"line {line + 1}, byte {(e.BytePositionInLine ?? 0) + 1}")
        : "";

    /// <summary>A JSON value's text as it appears in the file, cut to <paramref name="max"/> characters.</summary>
    public static string Raw(JsonElement value, int max = 60) => Shorten(value.GetRawText(), max);

    /// <summary><paramref name="text"/>, or its first characters and its length when longer than <paramref name="max"/>.</summary>
    public static string Shorten(string text, int max = 60) =>
        text.Length <= max ? text : $"{text[..(max - 20)]}... ({text.Length} characters)";

    /// <summary>The phrase for text that is not valid UTF-16 (a lone surrogate, as from a cut surrogate pair).</summary>
    public const string InvalidText = "is not valid text (it holds a lone UTF-16 surrogate, as from a cut character)";

    /// <summary>The sentence for a string whose escapes do not form valid text (a lone UTF-16 surrogate).</summary>
    public const string InvalidEscape =
        "holds an escape that is not valid text (a lone UTF-16 surrogate such as \\ud800)";

    /// <summary>
    /// Reads a string value or key through <paramref name="read"/>; when its escapes do not form
    /// valid text the reader throws <see cref="InvalidOperationException"/>, which becomes the
    /// caller's error, built by <paramref name="error"/> from a phrase saying what is wrong.
    /// </summary>
    public static string ReadString(Func<string> read, Func<string, Exception> error)
    {
        try
        {
            return read();
        }
        catch (InvalidOperationException e)
        {
            throw error($"{InvalidEscape}: {e.Message}");
        }
    }

    /// <summary>A quote longer than <see cref="MaxQuote"/> characters.</summary>
    [GeneratedRegex("'([^']{41,})'")]
    private static partial Regex LongQuote();
}
