using Accel.Backends;
using Accel.Execution;
using Accel.Moe;
using Accel.Selection;
using Accel.Types;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Accel.Hosting;

/// <summary>
/// The default <see cref="IAccelRuntime"/>: the registered providers, the options and a
/// <see cref="DeviceSelector"/>. It holds no device memory and no static state; every session and
/// layer it creates opens and owns its own backends.
/// </summary>
public sealed class AccelRuntime : IAccelRuntime
{
    private readonly BackendRegistry _registry;
    private readonly AccelOptions _options;
    private readonly DeviceSelector _selector;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;

    /// <summary>Creates the runtime (normally by dependency injection, through <c>AddAccel</c>).</summary>
    /// <param name="providers">The registered backend providers, in registration order.</param>
    /// <param name="options">The validated options.</param>
    /// <param name="environment">Where <c>ACCEL_DEVICE</c> and <c>ACCEL_STRICT</c> are read (default: the process).</param>
    /// <param name="loggerFactory">Creates the loggers of the runtime, the selector and sessions (default: none).</param>
    public AccelRuntime(IEnumerable<IBackendProvider> providers, IOptions<AccelOptions> options,
        IAccelEnvironment? environment = null, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(providers);
        ArgumentNullException.ThrowIfNull(options);
        _registry = new BackendRegistry(providers);
        _options = options.Value;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<AccelRuntime>();
        _selector = new DeviceSelector(_registry, _options, environment, _loggerFactory.CreateLogger<DeviceSelector>());
    }

    /// <inheritdoc/>
    public IReadOnlyList<DeviceDescriptor> Devices => _registry.Devices;

    /// <inheritdoc/>
    public BackendRegistry Registry => _registry;

    /// <inheritdoc/>
    public DeviceSelection Select(string? device = null) => _selector.Select(device);

    /// <inheritdoc/>
    public bool ResolveStrict(bool? strict = null) => _selector.ResolveStrict(strict);

    /// <inheritdoc/>
    public BackendChain OpenChain(DeviceSelection selection)
    {
        ArgumentNullException.ThrowIfNull(selection);
        return BackendChain.Open(_registry, selection.Device);
    }

    /// <inheritdoc/>
    public AccelSession CreateSession(Graph.Graph graph, IReadOnlyDictionary<string, HostTensor> weights, string? device = null, bool? strict = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(weights);
        return Open(device, strict, (selection, chain, options) => new AccelSession(selection, chain,
            new GraphSession(graph, chain.Backends, weights, options, _loggerFactory.CreateLogger<GraphSession>())));
    }

    /// <inheritdoc/>
    public AccelMoeLayer CreateMoeLayer(MoeConfig config, int layer, IReadOnlyDictionary<string, HostTensor> weights,
        string? device = null, bool? strict = null, MoeLayerMode mode = MoeLayerMode.Full)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        return Open(device, strict, (selection, chain, options) => new AccelMoeLayer(selection, chain,
            new MoeLayer(config, layer, weights, chain.Backends, options, _loggerFactory.CreateLogger<MoeLayer>(), mode)));
    }

    /// <summary>
    /// Selects and opens the device (plus <c>reference</c> for fallback), then builds the result;
    /// on failure every opened backend is closed again.
    /// </summary>
    private T Open<T>(string? device, bool? strict, Func<DeviceSelection, BackendChain, SessionOptions, T> build)
    {
        var selection = _selector.Select(device);
        bool isStrict = _selector.ResolveStrict(strict);
        var chain = BackendChain.Open(_registry, selection.Device);
        try
        {
            var result = build(selection, chain, new SessionOptions(isStrict, _options.PlanCacheSize));
            _logger.LogDebug("Opened {Chain} (strict {Strict})", string.Join(" -> ", chain.Backends.Select(b => b.Device.Id)), isStrict);
            return result;
        }
        catch
        {
            chain.Dispose();
            throw;
        }
    }
}
