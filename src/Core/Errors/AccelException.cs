namespace Accel.Errors;

/// <summary>
/// Root of every error Accel raises on purpose. The message is a full sentence that says what was
/// wrong and what to do about it; callers can show it to a user without a stack trace.
/// </summary>
public class AccelException : Exception
{
    /// <summary>Creates the exception with a user-facing message.</summary>
    public AccelException(string message) : base(message) { }

    /// <summary>Creates the exception with a user-facing message and the underlying cause.</summary>
    public AccelException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>Input data (a file, a tensor, a config) is malformed or inconsistent.</summary>
public class InvalidInputException : AccelException
{
    /// <inheritdoc cref="AccelException(string)"/>
    public InvalidInputException(string message) : base(message) { }

    /// <inheritdoc cref="AccelException(string, Exception)"/>
    public InvalidInputException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A safetensors file is truncated, corrupt or does not hold what was asked for.</summary>
public sealed class SafetensorsException : InvalidInputException
{
    /// <summary>Creates the exception for the file at <paramref name="path"/>.</summary>
    public SafetensorsException(string path, string problem)
        : base($"Safetensors file '{path}': {problem}") => FilePath = path;

    /// <summary>The file that failed.</summary>
    public string FilePath { get; }
}

/// <summary>A model configuration (config.json or options) is invalid or contradicts the weights.</summary>
public sealed class ConfigException : InvalidInputException
{
    /// <inheritdoc cref="AccelException(string)"/>
    public ConfigException(string message) : base(message) { }
}

/// <summary>A graph is malformed: a shape or dtype mismatch, a bad attribute or a missing input.</summary>
public sealed class GraphValidationException : AccelException
{
    /// <summary>Creates the exception for the node named <paramref name="node"/>.</summary>
    public GraphValidationException(string node, string problem)
        : base($"Graph node '{node}': {problem}") => Node = node;

    /// <summary>The name of the offending node (or value).</summary>
    public string Node { get; }
}

/// <summary>A backend failed: it is unavailable, a kernel failed to build or launch, memory ran out.</summary>
public class BackendException : AccelException
{
    /// <summary>Creates the exception for the backend <paramref name="backend"/>.</summary>
    public BackendException(string backend, string message) : base(message) => Backend = backend;

    /// <summary>Creates the exception for the backend <paramref name="backend"/> with a cause.</summary>
    public BackendException(string backend, string message, Exception inner) : base(message, inner)
        => Backend = backend;

    /// <summary>The backend id (e.g. <c>opencl</c>).</summary>
    public string Backend { get; }
}

/// <summary>The requested device is not present or cannot be opened.</summary>
public sealed class BackendUnavailableException : BackendException
{
    /// <inheritdoc cref="BackendException(string, string)"/>
    public BackendUnavailableException(string backend, string message) : base(backend, message) { }
}

/// <summary>A kernel failed to compile; <see cref="BuildLog"/> holds the compiler's output.</summary>
public sealed class KernelCompilationException : BackendException
{
    /// <summary>Creates the exception for <paramref name="op"/> with the compiler's log.</summary>
    public KernelCompilationException(string backend, string op, string buildLog, Exception? inner = null)
        : base(backend, $"Compiling the kernel for {op} on {backend} failed. Build log:\n{buildLog}",
            inner ?? new InvalidOperationException(buildLog))
    {
        Op = op;
        BuildLog = buildLog;
    }

    /// <summary>The op whose kernel failed.</summary>
    public string Op { get; }

    /// <summary>The compiler's log.</summary>
    public string BuildLog { get; }
}

/// <summary>An allocation would exceed the memory of the device (or of its profile).</summary>
public sealed class DeviceMemoryException : BackendException
{
    /// <inheritdoc cref="BackendException(string, string)"/>
    public DeviceMemoryException(string backend, string message) : base(backend, message) { }
}

/// <summary>A hardware profile file is malformed.</summary>
public sealed class ProfileException : AccelException
{
    /// <summary>Creates the exception for <paramref name="file"/> at JSON path <paramref name="jsonPath"/>.</summary>
    public ProfileException(string file, string jsonPath, string problem)
        : base($"Hardware profile '{file}' at {jsonPath}: {problem}")
    {
        File = file;
        JsonPath = jsonPath;
    }

    /// <summary>The profile file.</summary>
    public string File { get; }

    /// <summary>The JSON path of the offending element (e.g. <c>$.memory.deviceBytes</c>).</summary>
    public string JsonPath { get; }
}

/// <summary>
/// A step of a session's run failed on a device: a node, or a copy at the run's edges (an input
/// upload, a transfer between backends, an output download). The device's own error is the inner
/// exception. The session has freed its activation buffers (its weights stay) and can run again.
/// </summary>
public sealed class ExecutionException : BackendException
{
    /// <summary>Creates the exception for a step that failed on <paramref name="deviceId"/>.</summary>
    /// <param name="backend">The backend (provider) name.</param>
    /// <param name="deviceId">The device the step ran on.</param>
    /// <param name="node">The node that failed, or null when a copy failed.</param>
    /// <param name="tokens">The token count of the run.</param>
    /// <param name="message">The user-facing message.</param>
    /// <param name="inner">The device's error.</param>
    public ExecutionException(string backend, string deviceId, string? node, long tokens, string message, Exception inner)
        : base(backend, message, inner)
    {
        DeviceId = deviceId;
        Node = node;
        Tokens = tokens;
    }

    /// <summary>The device the failing step ran on.</summary>
    public string DeviceId { get; }

    /// <summary>The node that failed, or null when a copy failed.</summary>
    public string? Node { get; }

    /// <summary>The token count of the failed run.</summary>
    public long Tokens { get; }
}
