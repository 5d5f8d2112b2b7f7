using Accel.Backends.OpenCL;
using Accel.Errors;
using NUnit.Framework;

namespace Accel.OpenCL.Tests;

/// <summary>OpenClLowering.ToOpenCl12 on code ILGPU really generated, and on the exact shapes it emits.</summary>
public sealed class LoweringTests
{
    private static readonly string[] GeneratedKernels =
    [
        nameof(ToyKernels.VectorAdd), nameof(ToyKernels.TiledMatMul), nameof(ToyKernels.Histogram),
        nameof(ToyKernels.SharedHistogram), nameof(ToyKernels.AtomicMix), nameof(ToyKernels.ScalarArgs),
    ];

    private static OpenClGeneratedKernel Generate(string name)
    {
        // Device-independent: the generator needs no OpenCL device, only the capabilities.
        using var generator = new OpenClCodeGenerator(float16: false, float64: false, int64Atomics: true);
        return generator.Generate(KernelLaunchTests.Kernel(name));
    }

    [TestCaseSource(nameof(GeneratedKernels))]
    public void Generated_code_is_lowered_to_OpenCL_C_1_2_and_builds(string name)
    {
        var generated = Generate(name);
        var lowered = OpenClLowering.ToOpenCl12(generated.Source);

        Assert.That(lowered, Does.Not.Contain("__generic"));
        Assert.That(lowered, Does.Not.Contain("work_group_barrier"));
        Assert.That(lowered, Does.Not.Contain("atomic_fetch_"));
        Assert.That(lowered, Does.Not.Contain("atomic_compare_exchange"));
        Assert.That(lowered, Does.Not.Contain("atomic_exchange"));
        Assert.That(OpenClLowering.FindUnsupported(lowered), Is.Empty);
        Assert.That(OpenClLowering.ToOpenCl12(lowered), Is.EqualTo(lowered), "idempotent");

        var device = OpenClTestEnvironment.Device;
        using var program = device.BuildProgram(lowered, name);
        Assert.That(program.KernelNames, Does.Contain(generated.EntryName));
        if (device.Device.CVersion < new Version(3, 0) && device.Device.PlatformVersion.Contains("OpenCL 3.0", StringComparison.Ordinal))
        {
            // PoCL: OpenCL C 1.2 by default, 3.0 on request; the lowered code is valid in both.
            using var v3 = device.BuildProgram(lowered, name, "-cl-std=CL3.0");
        }
    }

    [Test]
    public void What_ILGPU_generates_needs_the_lowering()
    {
        Assert.That(Generate(nameof(ToyKernels.VectorAdd)).Source, Does.Contain("__generic"));
        Assert.That(Generate(nameof(ToyKernels.TiledMatMul)).Source, Does.Contain("work_group_barrier"));
        Assert.That(Generate(nameof(ToyKernels.Histogram)).Source, Does.Contain("atomic_fetch_add"));
    }

    [Test]
    public void Barriers_get_both_fences_and_memory_fences_stay_fences()
    {
        var lowered = OpenClLowering.ToOpenCl12(
            "work_group_barrier ( CLK_GLOBAL_MEM_FENCE );\n work_group_barrier ( CLK_GLOBAL_MEM_FENCE ,  memory_scope_device );");
        Assert.That(lowered, Is.EqualTo(
            "barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);\n mem_fence(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);"));
    }

    [Test]
    public void Atomics_keep_address_space_and_signedness()
    {
        const string source = """
            typedef __generic int* type_1;
            typedef local int* type_2;
            kernel void k(global int* view_0, int var1)
            {
                type_1 var3;
                type_2 var4;
                int var5;
                long var6;
                var5 =  atomic_fetch_min ((atomic_uint*)var3, (uint)2);
                var5 =  atomic_fetch_add ((atomic_int*)var4, (int)1);
                var6 =  atomic_fetch_add ((atomic_long*)view_0, (long)1);
                 atomic_compare_exchange_strong ((atomic_int*)var3, (int*) & var5, (int)var1);
                var5 =  atomic_exchange ((atomic_int*)unknown, (int)3);
            }
            """;
        var lowered = OpenClLowering.ToOpenCl12(source);
        Assert.That(lowered, Does.Contain("atomic_min((volatile __global uint*)var3, (uint)2)"));
        Assert.That(lowered, Does.Contain("atomic_add((volatile __local int*)var4, (int)1)"));
        Assert.That(lowered, Does.Contain("atom_add((volatile __global long*)view_0, (long)1)"));
        Assert.That(lowered, Does.Contain("var5 = atomic_cmpxchg((volatile __global int*)var3, var5, (int)var1);"));
        Assert.That(lowered, Does.Contain("atomic_xchg(unknown, (int)3)"), "unknown pointer: no cast, overloads decide");
        Assert.That(lowered, Does.StartWith("#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable"));
    }

    [Test]
    public void What_cannot_be_lowered_is_reported()
    {
        var problems = OpenClLowering.FindUnsupported(
            "x = work_group_reduce_add(y);\nz = sub_group_broadcast(w, 0);\natomic_fetch_add((atomic_float*)p, 1.0f);");
        Assert.That(problems, Has.Count.EqualTo(3));
        Assert.That(problems[0], Does.StartWith("line 1:").And.Contain("Group.Barrier"));
    }

    [Test]
    public void Warp_intrinsics_fail_in_code_generation_with_the_op_name()
    {
        using var generator = new OpenClCodeGenerator(float16: false, float64: false, int64Atomics: false);
        var e = Assert.Throws<KernelCompilationException>(() =>
            generator.Generate(KernelLaunchTests.Kernel(nameof(ToyKernels.UsesWarpShuffle)), opName: "ShuffleOp"));
        Assert.That(e!.Op, Is.EqualTo("ShuffleOp"));
        Assert.That(e.BuildLog, Is.Not.Empty);
    }

    [Test]
    public void A_broken_kernel_raises_the_build_log_and_op_name()
    {
        var device = OpenClTestEnvironment.Device;
        var e = Assert.Throws<KernelCompilationException>(() => device.BuildProgram(
            "kernel void broken(global float* x) { x[0] = undefined_symbol_42; }", "BrokenOp"));
        Assert.That(e!.Op, Is.EqualTo("BrokenOp"));
        Assert.That(e.Backend, Is.EqualTo("opencl"));
        Assert.That(e.BuildLog, Does.Contain("undefined_symbol_42"));
        Assert.That(e.Message, Does.Contain("BrokenOp").And.Contain("undefined_symbol_42"));
    }
}
