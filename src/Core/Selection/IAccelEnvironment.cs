namespace Accel.Selection;

/// <summary>
/// Reads environment variables. The selector reads <c>ACCEL_DEVICE</c> and <c>ACCEL_STRICT</c>
/// through it, so tests and hosts can supply their own values instead of the process's.
/// </summary>
public interface IAccelEnvironment
{
    /// <summary>The value of the variable <paramref name="name"/>, or null when it is not set.</summary>
    /// <param name="name">The variable name, e.g. <c>ACCEL_DEVICE</c>.</param>
    /// <returns>The value, or null.</returns>
    string? GetVariable(string name);
}

/// <summary>The environment of the current process (<see cref="Environment.GetEnvironmentVariable(string)"/>).</summary>
public sealed class ProcessEnvironment : IAccelEnvironment
{
    private ProcessEnvironment() { }

    /// <summary>The single instance (it holds no state).</summary>
    public static ProcessEnvironment Instance { get; } = new();

    /// <inheritdoc/>
    public string? GetVariable(string name) => Environment.GetEnvironmentVariable(name);
}
