using Accel.Core.Tests.Selection;
using Accel.Hosting;
using Accel.Moe;
using Accel.Selection;
using Accel.IO;
using Accel.Types;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Tests.Hosting;

/// <summary>A container as a host would build it, with settings and environment variables given by the test.</summary>
internal static class TestServices
{
    public static ServiceProvider Build(Action<AccelBuilder>? accel = null, Dictionary<string, string?>? settings = null,
        IAccelEnvironment? environment = null, ILoggerProvider? logs = null, IConfiguration? configuration = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration ?? new ConfigurationBuilder().AddInMemoryCollection(settings ?? []).Build());
        services.AddSingleton(environment ?? new FakeEnvironment());
        services.AddLogging(b =>
        {
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        services.AddAccel(accel ?? (a => a.AddReference()));
        return services.BuildServiceProvider(validateScopes: true);
    }

    /// <summary>The weights of a small DeepSeek-V3 layer, loaded as the runtime expects them.</summary>
    public static (MoeConfig Config, int Layer, Dictionary<string, HostTensor> Weights) SmallLayer()
    {
        var config = MoePresets.DeepSeekV3Tiny;
        const int layer = 1;
        var tensors = SyntheticCheckpoint.Create(config, layer, SyntheticFormat.Fp8);
        return (config, layer, MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, layer));
    }
}
