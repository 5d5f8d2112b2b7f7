using Accel.Backends;
using Accel.Core.Tests.Selection;
using Accel.Hosting;
using Accel.Moe;
using Accel.Types;
using Microsoft.Extensions.DependencyInjection;

namespace Accel.Core.Tests.Hosting;

public sealed class RuntimeTests
{
    [Test]
    public void Disposing_a_layer_releases_its_device_memory_and_closes_its_backends()
    {
        using var services = TestServices.Build();
        var (config, layer, weights) = TestServices.SmallLayer();
        var moe = services.GetRequiredService<IAccelRuntime>().CreateMoeLayer(config, layer, weights);
        var backend = (BackendBase)moe.Backends.Single();
        moe.Run(SyntheticCheckpoint.Activations(7, config.Hidden));
        Assert.That(backend.AllocatedBytes, Is.GreaterThan(0));
        moe.Dispose();
        Assert.That(backend.AllocatedBytes, Is.Zero);
        Assert.Throws<ObjectDisposedException>(() => backend.Synchronize());
        Assert.Throws<ObjectDisposedException>(() => moe.Run(SyntheticCheckpoint.Activations(7, config.Hidden)));
    }

    [Test]
    public void Disposing_a_graph_session_releases_every_backend_of_its_chain()
    {
        var cuda = new FakeProvider("cuda", FakeProvider.Present("cuda:0"));
        using var services = TestServices.Build(a => a.AddProvider(cuda).AddReference());
        var (config, layer, weights) = TestServices.SmallLayer();
        var graph = MoeLayerBuilder.Build(config, layer, weights);
        var session = services.GetRequiredService<IAccelRuntime>().CreateSession(graph, weights, "cuda:0");
        Assert.That(session.Backends.Select(b => b.Device.Id), Is.EqualTo(new[] { "cuda:0", "reference" }));
        Assert.That(session.Selection.DeviceId, Is.EqualTo("cuda:0"));
        var backends = session.Backends.Cast<BackendBase>().ToList();
        Assert.That(backends[0].AllocatedBytes, Is.GreaterThan(0), "the weights are on cuda:0");
        session.Dispose();
        Assert.That(backends.Select(b => b.AllocatedBytes), Is.All.Zero);
        Assert.That(cuda.Opened.Single().IsDisposed, Is.True);
    }

    [Test]
    public void Each_session_opens_its_own_backends()
    {
        using var services = TestServices.Build();
        var (config, layer, weights) = TestServices.SmallLayer();
        var runtime = services.GetRequiredService<IAccelRuntime>();
        using var a = runtime.CreateMoeLayer(config, layer, weights);
        var b = runtime.CreateMoeLayer(config, layer, weights);
        Assert.That(a.Backends[0], Is.Not.SameAs(b.Backends[0]));
        b.Dispose();
        Assert.That(((BackendBase)a.Backends[0]).AllocatedBytes, Is.GreaterThan(0), "disposing one session leaves the other intact");
        Assert.DoesNotThrow(() => a.Run(SyntheticCheckpoint.Activations(3, config.Hidden)));
    }

    [Test]
    public void Concurrent_runs_on_one_layer_give_identical_results()
    {
        using var services = TestServices.Build();
        var (config, layer, weights) = TestServices.SmallLayer();
        using var moe = services.GetRequiredService<IAccelRuntime>().CreateMoeLayer(config, layer, weights);
        int[] tokens = [1, 5, 9];
        var expected = tokens.Select(t => moe.Run(SyntheticCheckpoint.Activations(t, config.Hidden, seed: t))).ToArray();

        var results = new MoeResult[8][];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            results[i] = [.. Enumerable.Range(0, 6).Select(k => tokens[(i + k) % tokens.Length])
                .Select(t => moe.Run(SyntheticCheckpoint.Activations(t, config.Hidden, seed: t)))];
        });

        for (int i = 0; i < results.Length; i++)
        {
            for (int k = 0; k < results[i].Length; k++)
            {
                var want = expected[(i + k) % tokens.Length];
                Assert.That(Bytes(results[i][k].Output), Is.EqualTo(Bytes(want.Output)), $"thread {i}, run {k}");
                Assert.That(Bytes(results[i][k].TopkIds), Is.EqualTo(Bytes(want.TopkIds)), $"thread {i}, run {k}");
            }
        }
    }

    [Test]
    public void Different_sessions_run_independently_on_different_threads()
    {
        using var services = TestServices.Build();
        var (config, layer, weights) = TestServices.SmallLayer();
        var runtime = services.GetRequiredService<IAccelRuntime>();
        var x = SyntheticCheckpoint.Activations(4, config.Hidden);
        byte[] expected;
        using (var single = runtime.CreateMoeLayer(config, layer, weights))
        {
            expected = Bytes(single.Run(x).Output);
        }

        var outputs = new byte[4][];
        Parallel.For(0, outputs.Length, i =>
        {
            using var moe = runtime.CreateMoeLayer(config, layer, weights);
            outputs[i] = Bytes(moe.Run(x).Output);
        });
        Assert.That(outputs, Is.All.EqualTo(expected));
    }

    private static byte[] Bytes(HostTensor t) => t.ReadOnlyBytes.ToArray();
}
