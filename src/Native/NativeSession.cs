using System.Text.Json;
using Accel.Composition;
using Accel.Hosting;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Native;

/// <summary>
/// What an <c>accel_session *</c> stands for: one layer's MoE block on a device, as a whole layer,
/// as routed experts, or both. Runs take the caller's tensors, copy them in, run, and write the
/// results into the caller's buffers. Thread-safe (each layer serialises its runs).
/// </summary>
public sealed unsafe class NativeSession : IDisposable
{
    private static readonly DType[] Activations = [DType.F32, DType.BF16, DType.F16];
    private static readonly DType[] Indices = [DType.I32, DType.I64];
    private readonly AccelMoeLayer? _layer;
    private readonly AccelMoeLayer? _routed;

    // The last run's input copy (fp32, whatever the caller's dtype) and result, reused while the token
    // count stays (large arrays allocated per run would cost a garbage collection and fresh pages every few runs).
    private readonly Lock _keptGate = new();
    private (HostTensor X, MoeResult Result)? _kept;
    private (HostTensor X, HostTensor Output)? _keptRouted;

    private NativeSession(MoeConfig config, int layer, SessionSettings settings, AccelMoeLayer? full, AccelMoeLayer? routed)
    {
        Config = config;
        Layer = layer;
        Settings = settings;
        _layer = full;
        _routed = routed;
    }

    /// <summary>The model's MoE config.</summary>
    public MoeConfig Config { get; }

    /// <summary>The layer index.</summary>
    public int Layer { get; }

    /// <summary>The options the session was created with.</summary>
    public SessionSettings Settings { get; }

    private AccelMoeLayer Any => (_layer ?? _routed)!;

    /// <summary>Loads the layer's weights from <paramref name="source"/> and opens the layer(s) on the selected device.</summary>
    public static NativeSession Create(AccelServices services, MoeConfig config, ITensorSource source, SessionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        int layer = settings.Layer ?? config.FirstDenseLayers;
        var weights = MoeWeightLoader.Load(source, config, layer);
        bool strict = services.Runtime.ResolveStrict(settings.Strict);
        var opened = new List<AccelMoeLayer>();
        try
        {
            foreach (var mode in settings.LayerModes())
            {
                opened.Add(services.Runtime.CreateMoeLayer(config, layer, weights, settings.Device, strict, mode));
            }
        }
        catch
        {
            opened.ForEach(l => l.Dispose());
            throw;
        }

        return new NativeSession(config, layer, settings,
            opened.FirstOrDefault(l => l.Layer.Mode == MoeLayerMode.Full), opened.FirstOrDefault(l => l.Layer.Mode == MoeLayerMode.Routed));
    }

    /// <summary><c>accel_session_run</c>: the whole layer; the routing outputs are optional (NULL).</summary>
    public void Run(NativeTensor* hidden, NativeTensor* tokenIds, NativeTensor* output, NativeTensor* topkIds, NativeTensor* topkWeights)
    {
        var layer = _layer ?? throw new NativeArgumentException(
            "This session was created with ACCEL_MODE_ROUTED; call accel_session_run_routed, or create the session with ACCEL_MODE_LAYER or ACCEL_MODE_BOTH.");
        lock (_keptGate)
        {
            var x = NativeTensors.ReadF32(hidden, _kept?.X, "hidden", Activations);
            var ids = tokenIds == null ? null : NativeTensors.Read(tokenIds, "token_ids", Indices);
            long rows = RowsOf(x);
            Expect(output, "out", rows, Config.Hidden, Activations, required: true);
            Expect(topkIds, "topk_ids", rows, Config.TopK, Indices);
            Expect(topkWeights, "topk_weights", rows, Config.TopK, Activations);
            var result = _kept is { } kept && kept.Result.Output.Shape[0] == rows ? kept.Result : layer.Layer.NewResult(rows);
            _kept = (x, result);
            layer.Run(x, result, ids);
            WriteResult(result, output, topkIds, topkWeights);
        }
    }

    private static void WriteResult(MoeResult result, NativeTensor* output, NativeTensor* topkIds, NativeTensor* topkWeights)
    {
        NativeTensors.Write(output, result.Output, "out", Activations);
        if (topkIds != null)
        {
            NativeTensors.Write(topkIds, result.TopkIds, "topk_ids", Indices);
        }

        if (topkWeights != null)
        {
            NativeTensors.Write(topkWeights, result.TopkWeights, "topk_weights", Activations);
        }
    }

    /// <summary><c>accel_session_run_routed</c>: the experts on the caller's routing.</summary>
    public void RunRouted(NativeTensor* hidden, NativeTensor* topkIds, NativeTensor* topkWeights, NativeTensor* output)
    {
        var layer = _routed ?? throw new NativeArgumentException(
            "This session was created with ACCEL_MODE_LAYER; call accel_session_run, or create the session with ACCEL_MODE_ROUTED or ACCEL_MODE_BOTH.");
        lock (_keptGate)
        {
            var x = NativeTensors.ReadF32(hidden, _keptRouted?.X, "hidden", Activations);
            var ids = NativeTensors.Read(topkIds, "topk_ids", Indices);
            var weights = NativeTensors.Read(topkWeights, "topk_weights", Activations);
            long rows = RowsOf(x);
            Expect(output, "out", rows, Config.Hidden, Activations, required: true);
            var result = _keptRouted is { } kept && kept.Output.Shape[0] == rows ? kept.Output : layer.Layer.NewOutput(rows);
            _keptRouted = (x, result);
            layer.Layer.RunRouted(x, ids, weights, result);
            NativeTensors.Write(output, result, "out", Activations);
        }
    }

    /// <summary><c>accel_session_describe</c>: the device, why it was chosen, the layer's shape and where each node runs, as JSON.</summary>
    public string Describe()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, NativeJson.Options))
        {
            var selection = Any.Selection;
            json.WriteStartObject();
            json.WriteString("device", selection.DeviceId);
            json.WriteString("device_name", selection.Device.Name);
            json.WriteString("selected_by", selection.Source.ToString().ToLowerInvariant());
            json.WriteString("reason", selection.Reason);
            json.WriteString("mode", Settings.Mode.ToString().ToLowerInvariant());
            json.WriteString("family", Config.Family.ToString());
            json.WriteNumber("layer", Layer);
            json.WriteNumber("hidden_size", Config.Hidden);
            json.WriteNumber("experts", Config.Experts);
            json.WriteNumber("top_k", Config.TopK);
            json.WriteNumber("vocab_size", Config.Vocab);
            json.WriteBoolean("needs_token_ids", _layer?.Layer.NeedsTokenIds ?? false);
            json.WriteStartArray("placements");
            foreach (var p in Any.Layer.Session.Placements)
            {
                json.WriteStartObject();
                json.WriteString("node", p.Node.Name);
                json.WriteString("device", p.DeviceId);
                json.WriteBoolean("fallback", p.IsFallback);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Frees the device memory and closes the backends.</summary>
    public void Dispose()
    {
        _layer?.Dispose();
        _routed?.Dispose();
    }

    /// <summary>The row count T of the activations, which must be [T, D].</summary>
    private long RowsOf(HostTensor x) => x.Shape.Rank == 2 && x.Shape[1] == Config.Hidden
        ? x.Shape[0]
        : throw new NativeArgumentException($"hidden must be [T, {Config.Hidden}] (T tokens of hidden_size {Config.Hidden}) but is {x.Shape}.");

    /// <summary>
    /// Checks an output's dtype, shape and data before the run, so a wrong buffer costs no work; NULL is
    /// refused when <paramref name="required"/>.
    /// </summary>
    private static void Expect(NativeTensor* t, string name, long rows, long cols, DType[] allowed, bool required = false)
    {
        if (t == null && required)
        {
            throw new NativeArgumentException($"{name} is NULL; pass a pointer to an accel_tensor.");
        }

        if (t == null)
        {
            return;
        }

        var type = NativeTensors.TypeOf(t, name, allowed);
        var shape = NativeTensors.ShapeOf(t, name);
        var expected = new Shape(rows, cols);
        if (shape != expected)
        {
            throw new NativeArgumentException($"{name} must be {expected} (one row per row of hidden) but is {shape}.");
        }

        NativeTensors.BytesOf(t, type, shape, name);
    }
}
