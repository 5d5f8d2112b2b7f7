// EmbeddedHost: Accel inside a .NET generic host, configured by appsettings.json.
//
//   dotnet run --project samples/EmbeddedHost
//   ACCEL_DEVICE=reference dotnet run --project samples/EmbeddedHost      (the environment beats Accel:Device)
//   dotnet run --project samples/EmbeddedHost -- --Layer:Preset=mixtral-tiny --Layer:Tokens=3
using Accel.Composition;
using Accel.Errors;
using Accel.Hosting;
using Accel.IO;
using Accel.Moe;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

// 1. A generic host. Its configuration reads appsettings.json (copied next to the program),
//    environment variables (Accel__Device=...) and command-line arguments (--Accel:Device=...).
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});

// 2. Accel with every shipped backend (reference, cpu, ilgpu, opencl, shims). AccelOptions is bound
//    from the "Accel" section, each backend's options from "Accel:Backends:<name>", and validated when
//    the host starts. Core registers no backend by itself.
builder.Services.AddAccel(accel => accel.AddAllBackends());

// 3. The sample's own settings: which layer shape to build and how many tokens to run.
builder.Services.AddOptions<LayerSettings>()
    .BindConfiguration("Layer")
    .Validate(s => MoePresets.All.ContainsKey(s.Preset), $"Layer:Preset must be one of: {string.Join(", ", MoePresets.All.Keys)}.")
    .Validate(s => s.Tokens >= 0, "Layer:Tokens must not be negative.")
    .ValidateOnStart();

using var host = builder.Build();
try
{
    // 4. Start the host: a bad Accel:Device, an empty Accel:FallbackChain or a negative
    //    Accel:PlanCacheSize fails here, with one sentence per problem, before any work is done.
    await host.StartAsync();
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

// 5. The runtime: lists devices and selects one (argument > ACCEL_DEVICE > Accel:Device > auto).
var runtime = host.Services.GetRequiredService<IAccelRuntime>();
var settings = host.Services.GetRequiredService<IOptions<LayerSettings>>().Value;
foreach (var device in runtime.Devices)
{
    Console.WriteLine($"found      {device.Id} ({device.Status}): {device.Name}");
}

// 6. Weights: a seeded synthetic checkpoint under Hugging Face names (FP8 block-scaled experts),
//    loaded exactly as a real safetensors checkpoint would be.
var config = MoePresets.All[settings.Preset];
int layer = config.FirstDenseLayers;
var tensors = SyntheticCheckpoint.Create(config, layer, SyntheticFormat.Fp8);
var weights = MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, layer);

try
{
    // 7. The layer, on the selected device (plus the reference backend for ops it lacks). It owns
    //    its backends; leaving the using block frees its device memory deterministically.
    using var moe = runtime.CreateMoeLayer(config, layer, weights);
    Console.WriteLine($"device     {moe.Selection.DeviceId} ({moe.Selection.Source}): {moe.Selection.Reason}");

    // 8. Run it on seeded activations; a hash layer also needs token ids.
    var hidden = SyntheticCheckpoint.Activations(settings.Tokens, config.Hidden);
    var tokenIds = moe.Layer.NeedsTokenIds ? SyntheticCheckpoint.TokenIds(settings.Tokens, config.Vocab) : null;
    var result = moe.Run(hidden, tokenIds);

    // 9. Print the result: shapes, the routing of the first token and a checksum of the output.
    Console.WriteLine($"layer      {settings.Preset}, layer {layer}: {config.Experts} experts, top-{config.TopK}, hidden {config.Hidden}");
    Console.WriteLine($"output     {result.Output}");
    if (settings.Tokens > 0)
    {
        var ids = result.TopkIds.AsSpan<int>()[..config.TopK].ToArray();
        var gates = result.TopkWeights.AsSpan<float>()[..config.TopK].ToArray();
        Console.WriteLine($"token 0    experts [{string.Join(", ", ids)}], weights [{string.Join(", ", gates.Select(w => w.ToString("F4")))}]");
    }

    Console.WriteLine($"checksum   {result.Output.ToF32().Sum(v => (double)v):F6}");
}
catch (AccelException e)
{
    // An absent device, a strict-mode fallback or bad weights: a sentence that says what to do.
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

// 10. Stop the host; disposing it (the using above) releases every service.
await host.StopAsync();
return 0;

/// <summary>The "Layer" section of appsettings.json.</summary>
internal sealed class LayerSettings
{
    /// <summary>A name from MoePresets.All (the -tiny and -mini presets run in a moment).</summary>
    public string Preset { get; set; } = "deepseek-v3-tiny";

    /// <summary>Tokens in the batch.</summary>
    public int Tokens { get; set; } = 8;
}
