using Accel.Backends.OpenCL;
using NUnit.Framework;

namespace Accel.OpenCL.Tests;

/// <summary>The on-disk program cache across runtimes (as across processes), and its recovery from bad files.</summary>
public sealed class ProgramCacheTests
{
    private string folder = "";

    [SetUp]
    public void NewFolder()
    {
        OpenClTestEnvironment.RequireDevice();
        folder = Path.Combine(OpenClTestEnvironment.CacheRoot, TestContext.CurrentContext.Test.Name.Replace(' ', '_'));
    }

    /// <summary>A fresh runtime on the test's folder loads VectorAdd, checks it runs, returns where it came from.</summary>
    private OpenClProgramOrigin LoadAndRun(out OpenClProgramCache cache)
    {
        var runtime = new OpenClRuntime(new OpenClOptions { CacheDirectory = folder });
        cache = runtime.ProgramCache;
        using var device = runtime.CreateContext(0);
        var kernel = device.LoadKernel(KernelLaunchTests.Kernel(nameof(ToyKernels.VectorAdd)));
        using var a = device.Upload<float>([1f, 2f, 3f]);
        using var c = device.Allocate<float>(3);
        kernel.LaunchAutoGrouped(3, a.View<float>(), a.View<float>(), c.View<float>());
        Assert.That(c.ToArray<float>(), Is.EqualTo(new[] { 2f, 4f, 6f }));
        return kernel.Origin;
    }

    private string SingleCacheFile()
    {
        var files = Directory.GetFiles(folder, "*.clbin");
        Assert.That(files, Has.Length.EqualTo(1));
        return files[0];
    }

    [Test]
    public void Second_load_hits_the_disk_cache()
    {
        Assert.That(LoadAndRun(out _), Is.EqualTo(OpenClProgramOrigin.Built));
        Assert.That(OpenClProgramCache.Read(SingleCacheFile()), Is.Not.Null);
        Assert.That(LoadAndRun(out _), Is.EqualTo(OpenClProgramOrigin.DiskCache));
    }

    [Test]
    public void Second_context_of_one_runtime_hits_the_memory_cache()
    {
        var runtime = new OpenClRuntime(new OpenClOptions { CacheDirectory = folder });
        var method = KernelLaunchTests.Kernel(nameof(ToyKernels.VectorAdd));
        using (var first = runtime.CreateContext(0))
        {
            Assert.That(first.LoadKernel(method).Origin, Is.EqualTo(OpenClProgramOrigin.Built));
        }

        using var second = runtime.CreateContext(0);
        Assert.That(second.LoadKernel(method).Origin, Is.EqualTo(OpenClProgramOrigin.MemoryCache));
    }

    [Test]
    public void Garbage_file_is_discarded_and_rebuilt()
    {
        LoadAndRun(out _);
        var file = SingleCacheFile();
        File.WriteAllBytes(file, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        Assert.That(LoadAndRun(out _), Is.EqualTo(OpenClProgramOrigin.Built));
        Assert.That(OpenClProgramCache.Read(SingleCacheFile()), Is.Not.Null, "rewritten intact");
        Assert.That(LoadAndRun(out _), Is.EqualTo(OpenClProgramOrigin.DiskCache));
    }

    [Test]
    public void Truncated_file_is_discarded_and_rebuilt()
    {
        LoadAndRun(out _);
        var file = SingleCacheFile();
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length / 2)]);
        Assert.That(LoadAndRun(out _), Is.EqualTo(OpenClProgramOrigin.Built));
    }

    [Test]
    public void Intact_file_with_a_binary_the_driver_rejects_is_discarded_and_rebuilt()
    {
        LoadAndRun(out _);
        var file = SingleCacheFile();
        var entry = OpenClProgramCache.Read(file)!;
        var junk = new byte[entry.Binary.Length];
        new Random(1).NextBytes(junk);
        using (var stream = File.Create(file))
        {
            OpenClProgramCache.Write(stream, entry with { Binary = junk });
        }

        Assert.That(LoadAndRun(out _), Is.EqualTo(OpenClProgramOrigin.Built));
        Assert.That(OpenClProgramCache.Read(SingleCacheFile())!.Binary, Is.Not.EqualTo(junk));
    }

    [Test]
    public void Clear_removes_memory_and_files()
    {
        LoadAndRun(out var cache);
        Assert.That(cache.MemoryCount, Is.EqualTo(1));
        cache.Clear();
        Assert.That(cache.MemoryCount, Is.Zero);
        Assert.That(Directory.GetFiles(folder, "*.clbin"), Is.Empty);
        Assert.That(LoadAndRun(out _), Is.EqualTo(OpenClProgramOrigin.Built));
    }

    [Test]
    public void Disabled_disk_cache_writes_nothing()
    {
        var runtime = new OpenClRuntime(new OpenClOptions { CacheDirectory = folder, EnableDiskCache = false });
        Assert.That(runtime.ProgramCache.Directory, Is.Null);
        using var device = runtime.CreateContext(0);
        device.LoadKernel(KernelLaunchTests.Kernel(nameof(ToyKernels.VectorAdd)));
        Assert.That(Directory.Exists(folder), Is.False);
    }
}
