using Accel.Errors;

namespace Accel.Native;

/// <summary>The status codes of <c>accel.h</c> (<c>accel_status</c>); the numbers are part of the ABI.</summary>
public enum NativeStatus
{
    /// <summary><c>ACCEL_OK</c>: the call succeeded.</summary>
    Ok = 0,
    /// <summary><c>ACCEL_ERR_INVALID_ARGUMENT</c>: a NULL pointer, a bad dtype or shape, bad input data.</summary>
    InvalidArgument = 1,
    /// <summary><c>ACCEL_ERR_CONFIG</c>: config.json, the options, a hardware profile or an <c>ACCEL_*</c> variable is invalid.</summary>
    Config = 2,
    /// <summary><c>ACCEL_ERR_NOT_FOUND</c>: a file or folder does not exist.</summary>
    NotFound = 3,
    /// <summary><c>ACCEL_ERR_DEVICE_UNAVAILABLE</c>: the named device is absent or cannot be opened.</summary>
    DeviceUnavailable = 4,
    /// <summary><c>ACCEL_ERR_DEVICE_MEMORY</c>: the device (or its profile) has too little memory.</summary>
    DeviceMemory = 5,
    /// <summary><c>ACCEL_ERR_GRAPH</c>: the layer's graph is invalid (a weight of the wrong shape or type).</summary>
    Graph = 6,
    /// <summary><c>ACCEL_ERR_BACKEND</c>: a backend failed (a kernel build or launch, strict-mode fallback).</summary>
    Backend = 7,
    /// <summary><c>ACCEL_ERR_IO</c>: a file could not be read.</summary>
    Io = 8,
    /// <summary><c>ACCEL_ERR_RUNTIME</c>: the .NET runtime could not be loaded (set by the native host only).</summary>
    Runtime = 9,
    /// <summary><c>ACCEL_ERR_INTERNAL</c>: a failure inside Accel; the message asks for a report.</summary>
    Internal = 10,
}

/// <summary>
/// Maps exceptions to <see cref="NativeStatus"/> codes and user-facing messages: the project's
/// <see cref="AccelException"/> hierarchy by type, file-system errors by kind, anything else as internal.
/// </summary>
public static class NativeErrors
{
    /// <summary>The variable that adds the stack trace to the message of an internal error.</summary>
    public const string DebugVariable = "ACCEL_DEBUG";

    /// <summary>The status code of <paramref name="e"/>.</summary>
    /// <param name="e">The exception caught at the boundary.</param>
    /// <returns>The code the C caller receives.</returns>
    public static NativeStatus StatusOf(Exception e) => e switch
    {
        ConfigException or ProfileException => NativeStatus.Config,
        BackendUnavailableException => NativeStatus.DeviceUnavailable,
        DeviceMemoryException => NativeStatus.DeviceMemory,
        GraphValidationException => NativeStatus.Graph,
        BackendException => NativeStatus.Backend,
        InvalidInputException or NativeArgumentException or ArgumentException or ObjectDisposedException => NativeStatus.InvalidArgument,
        AccelException => NativeStatus.Config,
        FileNotFoundException or DirectoryNotFoundException => NativeStatus.NotFound,
        IOException or UnauthorizedAccessException => NativeStatus.Io,
        _ => NativeStatus.Internal,
    };

    /// <summary>The message of <paramref name="e"/> for <c>accel_last_error</c>.</summary>
    /// <param name="e">The exception caught at the boundary.</param>
    /// <returns>One or more sentences; an internal error names its type and asks for a report.</returns>
    public static string MessageOf(Exception e)
    {
        if (e is ObjectDisposedException)
        {
            return "The session was released; create a new one with accel_session_create.";
        }

        if (StatusOf(e) != NativeStatus.Internal)
        {
            return e.Message;
        }

        return Environment.GetEnvironmentVariable(DebugVariable) == "1"
            ? $"internal error: {e}"
            : $"internal error: {e.GetType().Name}: {e.Message} Set {DebugVariable}=1 for the stack trace, and please report it.";
    }
}

/// <summary>A C caller passed an argument that cannot be used (a NULL pointer, an unknown enum value, ...).</summary>
/// <param name="message">What was wrong and how to fix it.</param>
public sealed class NativeArgumentException(string message) : AccelException(message);
