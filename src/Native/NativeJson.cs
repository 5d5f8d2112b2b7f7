using System.Text.Encodings.Web;
using System.Text.Json;

namespace Accel.Native;

/// <summary>How the C ABI writes JSON: compact, with only the characters JSON requires escaped (the text goes to programs, not to HTML).</summary>
internal static class NativeJson
{
    /// <summary>The writer options.</summary>
    public static JsonWriterOptions Options { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
