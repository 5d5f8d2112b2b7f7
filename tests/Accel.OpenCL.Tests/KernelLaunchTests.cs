using System.Reflection;
using Accel.Backends.OpenCL;
using NUnit.Framework;

namespace Accel.OpenCL.Tests;

public sealed class KernelLaunchTests
{
    internal static MethodInfo Kernel(string name) =>
        typeof(ToyKernels).GetMethod(name) ?? throw new MissingMethodException(nameof(ToyKernels), name);

    [Test]
    public void Implicitly_grouped_vector_add()
    {
        var device = OpenClTestEnvironment.Device;
        const int n = 1003; // not a multiple of any group size
        var a = Enumerable.Range(0, n).Select(i => i * 0.5f).ToArray();
        var b = Enumerable.Range(0, n).Select(i => 1000f - i).ToArray();
        using var da = device.Upload<float>(a);
        using var db = device.Upload<float>(b);
        using var dc = device.Allocate<float>(n + 8);
        dc.Clear();

        var kernel = device.LoadKernel(Kernel(nameof(ToyKernels.VectorAdd)));
        Assert.That(kernel.IsImplicitlyGrouped, Is.True);
        kernel.LaunchAutoGrouped(n, da.View<float>(), db.View<float>(), dc.View<float>(4, n));

        var c = dc.ToArray<float>();
        Assert.That(c[..4], Is.All.EqualTo(0f), "view offset respected");
        Assert.That(c[(n + 4)..], Is.All.EqualTo(0f), "no write past the extent");
        for (int i = 0; i < n; i++)
        {
            Assert.That(c[i + 4], Is.EqualTo(a[i] + b[i]));
        }

        kernel.LaunchAutoGrouped(0, da.View<float>(), db.View<float>(), dc.View<float>()); // empty launch is a no-op
    }

    [Test]
    public void Implicitly_grouped_2d_index()
    {
        var device = OpenClTestEnvironment.Device;
        const int w = 19, h = 7;
        using var output = device.Allocate<int>(w * h);
        device.LoadKernel(Kernel(nameof(ToyKernels.Fill2D))).LaunchAutoGrouped(new Dim3(w, h), output.View<int>(), w);
        var result = output.ToArray<int>();
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                Assert.That(result[y * w + x], Is.EqualTo(y * 1000 + x));
            }
        }
    }

    [TestCase(37, 29, 23)]
    [TestCase(8, 16, 8)]
    public void Explicitly_grouped_tiled_matmul_with_barriers(int m, int n, int k)
    {
        var device = OpenClTestEnvironment.Device;
        var kernel = device.LoadKernel(Kernel(nameof(ToyKernels.TiledMatMul)));
        Assert.That(kernel.IsImplicitlyGrouped, Is.False);
        Assert.That(kernel.LocalMemoryBytes, Is.GreaterThanOrEqualTo(2 * ToyKernels.Tile * ToyKernels.Tile * sizeof(float)));
        RunMatMul(kernel, ToyKernels.Tile, m, n, k);
    }

    [Test]
    public void Integer_atomics_histogram()
    {
        var device = OpenClTestEnvironment.Device;
        const int n = 5000, binCount = 16;
        var data = Enumerable.Range(0, n).Select(i => (i * 7 + i / 3) % binCount).ToArray();
        var expected = new int[binCount];
        foreach (var v in data)
        {
            expected[v]++;
        }

        using var dData = device.Upload<int>(data);
        using var bins = device.Allocate<int>(binCount);
        bins.Clear();
        device.LoadKernel(Kernel(nameof(ToyKernels.Histogram))).LaunchAutoGrouped(n, dData.View<int>(), bins.View<int>());
        Assert.That(bins.ToArray<int>(), Is.EqualTo(expected));

        bins.Clear();
        device.LoadKernel(Kernel(nameof(ToyKernels.SharedHistogram)))
            .Launch((n + 63) / 64, 64, dData.View<int>(), bins.View<int>(), n);
        Assert.That(bins.ToArray<int>(), Is.EqualTo(expected), "shared-memory (local) atomics");
    }

    [Test]
    public void Atomic_min_max_exchange_cas_and_64_bit()
    {
        var device = OpenClTestEnvironment.Device;
        if (!device.Device.SupportsInt64Atomics)
        {
            Assert.Ignore("The device has no 64-bit integer atomics.");
        }

        const int n = 100;
        using var ints = device.Upload<int>([int.MinValue, int.MaxValue, 0, 0, 0]);
        using var uints = device.Upload<uint>([0u, uint.MaxValue]);
        using var floats = device.Upload<float>([0f]);
        using var longs = device.Upload<long>([0L]);
        device.LoadKernel(Kernel(nameof(ToyKernels.AtomicMix)))
            .LaunchAutoGrouped(n, ints.View<int>(), uints.View<uint>(), floats.View<float>(), longs.View<long>());

        var i = ints.ToArray<int>();
        Assert.That(i[0], Is.EqualTo(n - 1 - 5), "signed max");
        Assert.That(i[1], Is.EqualTo(-5), "signed min");
        Assert.That(i[2], Is.EqualTo(Enumerable.Range(0, n).Aggregate(0, (acc, x) => acc | (1 << (x % 31)))));
        Assert.That(i[3], Is.EqualTo(7), "exchange");
        Assert.That(i[4], Is.InRange(1, n), "compare-exchange: exactly one winner");
        var u = uints.ToArray<uint>();
        Assert.That(u[0], Is.EqualTo(0x80000000u + n - 1), "unsigned max (a signed max would keep 0)");
        Assert.That(u[1], Is.EqualTo(0x80000000u), "unsigned min");
        Assert.That(floats.ToArray<float>()[0], Is.EqualTo((float)n), "float add through a CAS loop");
        Assert.That(longs.ToArray<long>()[0], Is.EqualTo(n * (1L << 33)), "64-bit add");
    }

    [Test]
    public void Scalar_and_struct_arguments_keep_their_alignment()
    {
        var device = OpenClTestEnvironment.Device;
        using var ints = device.Allocate<long>(6);
        using var floats = device.Allocate<float>(2);
        var p = new PaddedParams { Flag = 0xAB, Big = 0x1234_5678_9ABC_DEF0, Scale = 2.5f, Small = -12345, Count = 424242 };
        device.LoadKernel(Kernel(nameof(ToyKernels.ScalarArgs)))
            .LaunchAutoGrouped(1, ints.View<long>(), 1.25f, -77, long.MinValue + 3, KernelArg.Value(p), floats.View<float>());

        Assert.That(ints.ToArray<long>(), Is.EqualTo(new long[] { -77, long.MinValue + 3, 0xAB, p.Big, -12345, 424242 }));
        Assert.That(floats.ToArray<float>(), Is.EqualTo(new[] { 1.25f, 2.5f }));
    }

    [Test]
    public void Wrong_arguments_are_rejected_before_launch()
    {
        var device = OpenClTestEnvironment.Device;
        var kernel = device.LoadKernel(Kernel(nameof(ToyKernels.VectorAdd)));
        using var f = device.Allocate<float>(4);
        using var i = device.Allocate<int>(4);
        Assert.Throws<ArgumentException>(() => kernel.LaunchAutoGrouped(4, f.View<float>(), f.View<float>()));
        Assert.Throws<ArgumentException>(() => kernel.LaunchAutoGrouped(4, f.View<float>(), i.View<int>(), f.View<float>()));
        Assert.Throws<ArgumentException>(() => kernel.LaunchAutoGrouped(4, f.View<float>(), 3, f.View<float>()));
        var matmul = device.LoadKernel(Kernel(nameof(ToyKernels.TiledMatMul)));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            matmul.Launch(1, new Dim3(4096, 4096), f.View<float>(), f.View<float>(), f.View<float>(), 1, 1, 1));
        Assert.Throws<InvalidOperationException>(() =>
            matmul.LaunchAutoGrouped(4, f.View<float>(), f.View<float>(), f.View<float>(), 1, 1, 1));
    }

    internal static void RunMatMul(OpenClKernel kernel, int tile, int m, int n, int k)
    {
        var device = OpenClTestEnvironment.Device;
        var random = new Random(m * 10007 + n * 101 + k);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        using var da = device.Upload<float>(a);
        using var db = device.Upload<float>(b);
        using var dc = device.Allocate<float>(m * n);
        kernel.Launch(new Dim3((n + tile - 1) / tile, (m + tile - 1) / tile), new Dim3(tile, tile),
            da.View<float>(), db.View<float>(), dc.View<float>(), m, n, k);
        var c = dc.ToArray<float>();
        for (int row = 0; row < m; row++)
        {
            for (int col = 0; col < n; col++)
            {
                double expected = 0;
                for (int e = 0; e < k; e++)
                {
                    expected += a[row * k + e] * b[e * n + col];
                }

                Assert.That(c[row * n + col], Is.EqualTo(expected).Within(1e-4), $"C[{row},{col}] ({m}x{n}x{k}, tile {tile})");
            }
        }
    }
}
