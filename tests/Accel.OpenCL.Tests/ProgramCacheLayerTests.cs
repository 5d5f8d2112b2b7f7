using System.Diagnostics;
using Accel.Backends.OpenCL;
using Accel.IO;
using Accel.Moe;
using NUnit.Framework;

namespace Accel.OpenCL.Tests;

/// <summary>
/// A second start-up with the same program cache folder loads every kernel from disk: a layer is run
/// in two fresh runtimes and backends sharing one (initially empty) cache folder. The start-up times
/// are printed, not asserted: on a busy machine either start can be the slower one.
/// </summary>
[TestFixture]
public sealed class ProgramCacheLayerTests
{
    [Test]
    public void TheSecondStartLoadsEveryKernelFromTheDiskCache()
    {
        OpenClTestEnvironment.RequireDevice();
        string folder = Path.Combine(OpenClTestEnvironment.CacheRoot, "layer-" + Guid.NewGuid().ToString("N"));
        var config = MoePresets.MixtralTiny;
        var weights = MoeWeightLoader.Load(
            new InMemoryTensorSource(SyntheticCheckpoint.Create(config, 1, SyntheticFormat.BF16, seed: 5)), config, 1);
        var x = SyntheticCheckpoint.Activations(5, config.Hidden, seed: 6);

        var (firstMs, firstBuilt, firstDisk, firstOut) = Start(folder, config, weights, x);
        var (secondMs, secondBuilt, secondDisk, secondOut) = Start(folder, config, weights, x);
        TestContext.Out.WriteLine($"first start {firstMs:F0} ms ({firstBuilt} built), second {secondMs:F0} ms ({secondDisk} from disk)");

        Assert.That(firstBuilt, Is.GreaterThan(0));
        Assert.That(firstDisk, Is.Zero);
        Assert.That(secondBuilt, Is.Zero, "nothing is compiled again");
        Assert.That(secondDisk, Is.EqualTo(firstBuilt));
        Assert.That(secondOut, Is.EqualTo(firstOut), "the cached binaries compute the same");
    }

    private static (double Ms, int Built, int FromDisk, float[] Output) Start(string folder, MoeConfig config,
        IReadOnlyDictionary<string, Types.HostTensor> weights, Types.HostTensor x)
    {
        var clock = Stopwatch.StartNew();
        using var backend = OpenClBackend.Create(new OpenClRuntime(new OpenClOptions { CacheDirectory = folder }), 0);
        using var moe = new MoeLayer(config, 1, weights, [backend]);
        var output = moe.Run(x).Output.ToF32();
        return (clock.Elapsed.TotalMilliseconds, backend.KernelsBuilt, backend.KernelsFromDiskCache, output);
    }
}
