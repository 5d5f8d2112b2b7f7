using Accel.Errors;
using Accel.Selection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Accel.Hosting;

/// <summary>A change to a backend's options made in code (e.g. <c>accel.AddCpu(o =&gt; o with { Threads = 4 })</c>).</summary>
/// <typeparam name="T">The backend's options type.</typeparam>
/// <param name="Apply">Returns the changed options.</param>
public sealed record BackendOptionsStep<T>(Func<T, T> Apply)
    where T : class;

/// <summary>
/// How a backend's options are put together at the composition root, lowest precedence first: the
/// type's defaults, the configuration section <c>Accel:Backends:&lt;Name&gt;</c>, the backend's
/// environment variables, then every change made in code. Nothing reads the environment elsewhere.
/// </summary>
public static class BackendOptionsBinding
{
    /// <summary>The configuration section that holds one subsection per backend.</summary>
    public const string Section = AccelOptions.SectionName + ":Backends";

    /// <summary>
    /// Registers <typeparamref name="T"/> as a singleton built as described above, and adds
    /// <paramref name="configure"/> (if any) as a change made in code. Calling it again only adds the change.
    /// </summary>
    /// <typeparam name="T">The options type (a record; bound through its constructor or its properties).</typeparam>
    /// <param name="builder">The Accel builder.</param>
    /// <param name="name">The subsection, e.g. <c>Cpu</c>.</param>
    /// <param name="environment">Applies the backend's environment variables, or null when it reads none.</param>
    /// <param name="configure">A change made in code, or null.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public static AccelBuilder AddBackendOptions<T>(this AccelBuilder builder, string name,
        Func<T, IAccelEnvironment, T>? environment, Func<T, T>? configure)
        where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (configure is not null)
        {
            builder.Services.AddSingleton(new BackendOptionsStep<T>(configure));
        }

        builder.Services.TryAddSingleton(sp => Build(sp.GetService<IConfiguration>(), name,
            sp.GetService<IAccelEnvironment>() ?? ProcessEnvironment.Instance, environment, sp.GetServices<BackendOptionsStep<T>>()));
        return builder;
    }

    /// <summary>
    /// Registers a backend: its options as in <see cref="AddBackendOptions{T}"/> and its provider,
    /// created once from those options. What every backend's <c>Add…</c> extension does.
    /// </summary>
    /// <typeparam name="TOptions">The backend's options type.</typeparam>
    /// <typeparam name="TProvider">The backend's provider.</typeparam>
    /// <param name="builder">The Accel builder.</param>
    /// <param name="name">The options' subsection, e.g. <c>Cpu</c>.</param>
    /// <param name="environment">Applies the backend's environment variables, or null when it reads none.</param>
    /// <param name="configure">A change made in code, or null.</param>
    /// <param name="create">Creates the provider from the container and the options in effect.</param>
    /// <returns>The builder so that additional calls can be chained.</returns>
    public static AccelBuilder AddBackend<TOptions, TProvider>(this AccelBuilder builder, string name,
        Func<TOptions, IAccelEnvironment, TOptions>? environment, Func<TOptions, TOptions>? configure,
        Func<IServiceProvider, TOptions, TProvider> create)
        where TOptions : class, new()
        where TProvider : class, Backends.IBackendProvider
    {
        ArgumentNullException.ThrowIfNull(create);
        return builder.AddBackendOptions(name, environment, configure)
            .AddProvider(sp => create(sp, sp.GetRequiredService<TOptions>()));
    }

    /// <summary>Builds the options without dependency injection, in the same order of precedence.</summary>
    /// <typeparam name="T">The options type.</typeparam>
    /// <param name="configuration">The configuration root, or null.</param>
    /// <param name="name">The subsection, e.g. <c>Cpu</c>.</param>
    /// <param name="env">Where environment variables are read.</param>
    /// <param name="environment">Applies the backend's environment variables, or null.</param>
    /// <param name="steps">Changes made in code, applied in order.</param>
    /// <returns>The options in effect.</returns>
    /// <exception cref="ConfigException">A configured value cannot be converted, or a key is unknown.</exception>
    public static T Build<T>(IConfiguration? configuration, string name, IAccelEnvironment env,
        Func<T, IAccelEnvironment, T>? environment, IEnumerable<BackendOptionsStep<T>> steps)
        where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(steps);
        var options = Bind<T>(configuration, name);
        if (environment is not null)
        {
            options = environment(options, env);
        }

        foreach (var step in steps)
        {
            options = step.Apply(options);
        }

        return options;
    }

    /// <summary>The defaults with the section <c>Accel:Backends:&lt;name&gt;</c> bound over them.</summary>
    /// <exception cref="ConfigException">A configured value cannot be converted, or a key is unknown.</exception>
    public static T Bind<T>(IConfiguration? configuration, string name)
        where T : class, new()
    {
        var section = configuration?.GetSection($"{Section}:{name}");
        if (section is null || !section.Exists())
        {
            return new T();
        }

        try
        {
            var options = new T();
            section.Bind(options, o => o.ErrorOnUnknownConfiguration = true);
            return options;
        }
        catch (InvalidOperationException e)
        {
            var known = typeof(T).GetProperties().Where(p => p.CanWrite).Select(p => p.Name);
            throw new ConfigException($"The configuration section '{Section}:{name}' cannot be read: {e.Message} " +
                $"Its keys are {string.Join(", ", known)}; fix the value or remove the key for the default.");
        }
    }

    /// <summary>Reads an integer environment variable; null when unset, an error when it is not a number in range.</summary>
    /// <param name="env">Where environment variables are read.</param>
    /// <param name="variable">The variable, e.g. <c>ACCEL_CPU_AMX_ROWS</c>.</param>
    /// <param name="min">The smallest value allowed.</param>
    /// <returns>The value, or null when the variable is unset or blank.</returns>
    /// <exception cref="ConfigException">The value is not a whole number of at least <paramref name="min"/>.</exception>
    public static int? Integer(IAccelEnvironment env, string variable, int min)
    {
        ArgumentNullException.ThrowIfNull(env);
        string? raw = env.GetVariable(variable);
        if (string.IsNullOrWhiteSpace(raw))
        {
            return null;
        }

        return int.TryParse(raw.Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v) && v >= min
            ? v
            : throw new ConfigException($"The environment variable {variable} is '{raw}'; set it to a whole number of at least {min}, or unset it.");
    }

    /// <summary>Reads a 0/1 environment variable; null when unset, an error for anything else.</summary>
    /// <param name="env">Where environment variables are read.</param>
    /// <param name="variable">The variable, e.g. <c>ACCEL_CPU_AMX</c>.</param>
    /// <returns>The value, or null when the variable is unset or blank.</returns>
    /// <exception cref="ConfigException">The value is not 0, 1, true or false.</exception>
    public static bool? Flag(IAccelEnvironment env, string variable)
    {
        ArgumentNullException.ThrowIfNull(env);
        string? raw = env.GetVariable(variable);
        return raw?.Trim().ToLowerInvariant() switch
        {
            null or "" => null,
            "1" or "true" => true,
            "0" or "false" => false,
            _ => throw new ConfigException($"The environment variable {variable} is '{raw}'; set it to 1 (or true), 0 (or false), or unset it."),
        };
    }
}
