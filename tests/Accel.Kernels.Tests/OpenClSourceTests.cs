using System.Reflection;
using Accel.Backends.Ilgpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.OpenCL;
using NUnit.Framework;

namespace Accel.Kernels.Tests;

/// <summary>
/// Every shipped kernel goes through ILGPU's OpenCL C generator (OpenCL C 1.2, no device needed) for a
/// device without generic address space or subgroups, and its source stays inside the portable subset:
/// no work-group or subgroup collectives, no float atomics.
/// </summary>
[TestFixture]
public sealed class OpenClSourceTests
{
    /// <summary>Collectives and float atomics, which OpenCL C 1.2 devices such as PoCL lack.</summary>
    private static readonly string[] Forbidden =
        ["work_group_reduce", "work_group_scan", "work_group_broadcast", "sub_group", "atomic_float"];

    [Test]
    public void EveryKernelGeneratesPortableOpenClC()
    {
        using var context = Context.Create(IlgpuBackend.ConfigureContext);
        using var backend = new CLBackend(context, NoExtensions(), CLDeviceVendor.Other, CLCVersion.CL12);
        var problems = new List<string>();
        int count = 0;
        foreach (var (name, method) in KernelCatalog.All())
        {
            CLCompiledKernel compiled;
            try
            {
                compiled = (CLCompiledKernel)backend.Compile(
                    EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty);
            }
            catch (InternalCompilerException e)
            {
                problems.Add($"{name} does not compile: {e.InnerException?.InnerException?.Message ?? e.Message}");
                continue;
            }

            foreach (string forbidden in Forbidden)
            {
                if (compiled.Source.Contains(forbidden, StringComparison.Ordinal))
                {
                    problems.Add($"{name} uses {forbidden}");
                }
            }

            count++;
        }

        TestContext.Out.WriteLine($"{count} kernels generated as OpenCL C.");
        Assert.That(problems, Is.Empty);
    }

    /// <summary>A capability context with every optional capability off (as PoCL reports for OpenCL C 1.2).</summary>
    private static CLCapabilityContext NoExtensions()
    {
        var ctor = typeof(CLCapabilityContext).GetConstructors(BindingFlags.Public | BindingFlags.Instance)
            .Single(c => c.GetParameters().All(p => p.ParameterType == typeof(bool)));
        return (CLCapabilityContext)ctor.Invoke([.. ctor.GetParameters().Select(_ => (object)false)]);
    }
}
