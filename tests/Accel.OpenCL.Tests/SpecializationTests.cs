using Accel.Backends.OpenCL;
using Accel.Errors;
using ILGPU.Runtime;
using NUnit.Framework;

namespace Accel.OpenCL.Tests;

/// <summary>Load-time tile sizes: SpecializedValue parameters and struct type arguments.</summary>
public sealed class SpecializationTests
{
    [TestCase(4)]
    [TestCase(16)]
    public void SpecializedValue_sizes_shared_memory_at_load_time(int tile)
    {
        var device = OpenClTestEnvironment.Device;
        var kernel = device.LoadKernel(KernelLaunchTests.Kernel(nameof(ToyKernels.TiledMatMulSpecialized)), [tile]);
        Assert.That(kernel.LocalMemoryBytes, Is.GreaterThanOrEqualTo(2 * tile * tile * sizeof(float)));
        KernelLaunchTests.RunMatMul(kernel, tile, 33, 21, 19);
    }

    [Test]
    public void SpecializedValue_accepts_the_wrapper_type_and_rejects_a_wrong_count()
    {
        var device = OpenClTestEnvironment.Device;
        var method = KernelLaunchTests.Kernel(nameof(ToyKernels.TiledMatMulSpecialized));
        var kernel = device.LoadKernel(method, [SpecializedValue.New(4)]);
        Assert.That(device.LoadKernel(method, [4]), Is.SameAs(kernel), "same specialisation, same kernel");
        Assert.Throws<ArgumentException>(() => device.LoadKernel(method));
        Assert.Throws<ArgumentException>(() => device.LoadKernel(method, [4L]));
    }

    [Test]
    public void SpecializedValue_without_a_value_cannot_size_shared_memory()
    {
        using var generator = new OpenClCodeGenerator(float16: false, float64: false, int64Atomics: false);
        var method = KernelLaunchTests.Kernel(nameof(ToyKernels.TiledMatMulSpecialized));
        Assert.Throws<ArgumentException>(() => generator.Generate(method));
        var source = generator.Generate(method, [8]).Source;
        Assert.That(source, Does.Contain("[64]"), "tile * tile folded into the local array size");
    }

    [Test]
    public void Implicitly_grouped_kernel_with_a_specialised_parameter_between_views()
    {
        var device = OpenClTestEnvironment.Device;
        var method = KernelLaunchTests.Kernel(nameof(ToyKernels.ScaleSpecialized));
        using var input = device.Upload<int>([1, 2, 3, 4, 5]);
        using var output = device.Allocate<int>(5);
        device.LoadKernel(method, [3]).LaunchAutoGrouped(5, input.View<int>(), output.View<int>(), 100);
        Assert.That(output.ToArray<int>(), Is.EqualTo(new[] { 103, 106, 109, 112, 115 }));
        device.LoadKernel(method, [-1]).LaunchAutoGrouped(5, input.View<int>(), output.View<int>(), 0);
        Assert.That(output.ToArray<int>(), Is.EqualTo(new[] { -1, -2, -3, -4, -5 }));
    }

    [Test]
    public void Struct_type_argument_sizes_shared_memory()
    {
        var device = OpenClTestEnvironment.Device;
        var open = KernelLaunchTests.Kernel(nameof(ToyKernels.TiledMatMulGeneric));
        var k4 = device.LoadKernel(open.MakeGenericMethod(typeof(Tile4)));
        var k16 = device.LoadKernel(open.MakeGenericMethod(typeof(Tile16)));
        Assert.That(k16, Is.Not.SameAs(k4));
        KernelLaunchTests.RunMatMul(k4, 4, 13, 9, 11);
        KernelLaunchTests.RunMatMul(k16, 16, 35, 17, 40);
        Assert.Throws<NotSupportedException>(() => device.LoadKernel(open), "open generic kernels are rejected");
    }
}
