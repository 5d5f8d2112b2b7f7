using System.Collections.Immutable;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.IR;
using ILGPU.Runtime;

namespace Accel.Backends.OpenCL;

/// <summary>
/// Folds load-time values into a kernel's <c>SpecializedValue&lt;T&gt;</c> parameters without an
/// ILGPU accelerator. ILGPU's accelerators do this lazily at launch; all the pieces they use are
/// public IR API, so the same is done here at load time:
/// <list type="number">
/// <item>the backend pre-compiles the kernel to IR (<c>Backend.PreCompileKernelMethod</c>);</item>
/// <item>the IR is copied into a private context, and a new entry method is declared there with
///   the same parameters; it calls the kernel (marked for inlining) with an IR constant in place
///   of every specialised parameter and forwards all others;</item>
/// <item>the context is optimised, which inlines the kernel and propagates the constants (so
///   <c>SharedMemory.Allocate&lt;T&gt;(tile)</c> gets a static size and loops over <c>tile</c>
///   unroll), and the backend compiles the wrapper as the entry point.</item>
/// </list>
/// The wrapper keeps the specialised parameters in its signature (ILGPU's argument layout
/// depends on the C# signature), so they are still passed at launch, as their plain <c>T</c>.
/// </summary>
internal static class IlgpuSpecializer
{
    /// <summary>Compiles <paramref name="entry"/> with <paramref name="values"/> folded in.</summary>
    /// <param name="backend">The backend that compiles the result.</param>
    /// <param name="entry">The kernel's entry point description.</param>
    /// <param name="values">One boxed <c>SpecializedValue&lt;T&gt;</c> per specialised parameter, in order.</param>
    public static CompiledKernel Compile(Backend backend, in EntryPointDescription entry, ImmutableArray<object> values)
    {
        var kernelMethod = backend.PreCompileKernelMethod(entry);
        using var irContext = kernelMethod.ExtractToContext(out var kernel);
        var wrapper = irContext.Declare(
            new MethodDeclaration(MethodHandle.Create("AccelSpecializedEntry"), irContext.VoidType),
            out _);
        kernel.AddFlags(MethodFlags.Inline);

        var specialized = entry.Parameters.SpecializedParameters;
        int indexOffset = entry.KernelIndexParameterOffset;
        using (var builder = wrapper.CreateBuilder())
        {
            var block = builder.EntryBlockBuilder;
            var location = wrapper.Location;
            var call = block.CreateCall(location, kernel);
            int next = 0;
            for (int i = 0; i < kernel.NumParameters; i++)
            {
                var parameter = kernel.Parameters[i];
                var forwarded = builder.AddParameter(parameter.Type, parameter.Name);
                bool isSpecialized = next < specialized.Length && specialized[next].Index == i - indexOffset;
                call.Add(isSpecialized ? block.CreateObjectValue(location, values[next++]) : forwarded);
            }

            call.Seal();
            block.CreateReturn(location);
            builder.Complete();
        }

        irContext.Optimize();
        return backend.Compile(wrapper, entry, new KernelSpecialization(null, null));
    }
}
