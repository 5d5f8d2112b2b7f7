using Accel.Errors;
using Microsoft.Extensions.Configuration;

namespace Accel.Hosting;

/// <summary>
/// Options of the Accel runtime, bound from the configuration section <c>Accel</c>
/// (appsettings.json: <c>{ "Accel": { "Device": "cuda:0", "Strict": true } }</c>).
/// </summary>
public sealed class AccelOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "Accel";

    /// <summary>
    /// The device to run on (<c>reference</c>, <c>ilgpu-cpu</c>, <c>cuda:0</c>, <c>opencl:1</c>, a
    /// profile id, or <c>auto</c>). An API argument and the environment variable <c>ACCEL_DEVICE</c>
    /// take precedence. Default = null: <c>auto</c>.
    /// </summary>
    public string? Device { get; set; }

    /// <summary>
    /// Fail at plan time when an op would fall back to another backend, instead of logging a
    /// warning and falling back. An API argument and <c>ACCEL_STRICT</c> take precedence. Default = false.
    /// </summary>
    public bool Strict { get; set; }

    /// <summary>
    /// The order in which <c>auto</c> tries devices; an entry matches a device id exactly or up to
    /// its ordinal (<c>cuda</c> matches <c>cuda:0</c>). Default = null: auto ranks the usable devices by
    /// kind (a GPU first, then the native cpu backend, OpenCL CPU devices, simulators, the reference;
    /// see <see cref="Backends.AutoRank"/>).
    /// </summary>
    public IList<string>? FallbackChain { get; set; }

    /// <summary>Folders searched for hardware profiles (<c>*.json</c>), in order. Default = empty.</summary>
    public IList<string> ProfileDirectories { get; set; } = [];

    /// <summary>
    /// How many token counts keep their plan and activation buffers between runs of a session;
    /// more saves planning, fewer saves device memory. Default = 4.
    /// </summary>
    public int PlanCacheSize { get; set; } = 4;

    /// <summary>
    /// Binds the section <c>Accel</c> of <paramref name="configuration"/> and validates it, for
    /// callers without dependency injection (the CLI).
    /// </summary>
    /// <param name="configuration">The configuration root.</param>
    /// <returns>The bound, valid options.</returns>
    /// <exception cref="ConfigException">A value cannot be converted, or the options are invalid.</exception>
    public static AccelOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new AccelOptions();
        try
        {
            configuration.GetSection(SectionName).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw Unreadable(e);
        }

        var problems = AccelOptionsValidator.Problems(options);
        if (problems.Count > 0)
        {
            throw Invalid(problems);
        }

        return options;
    }

    /// <summary>The error for a section whose values cannot be converted (the binder's <paramref name="e"/>).</summary>
    public static ConfigException Unreadable(InvalidOperationException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new ConfigException($"The configuration section '{SectionName}' cannot be read: {e.Message} " +
            "Write Strict as true or false, PlanCacheSize as a whole number, and FallbackChain and ProfileDirectories as lists of strings.");
    }

    /// <summary>The error for a section that binds but breaks the rules of <see cref="AccelOptionsValidator"/>.</summary>
    public static ConfigException Invalid(IEnumerable<string> problems) =>
        new($"The configuration section '{SectionName}' is invalid: {string.Join(" ", problems)}");
}
