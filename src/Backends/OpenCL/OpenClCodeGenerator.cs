using System.Reflection;
using System.Text;
using Accel.Errors;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.OpenCL;

namespace Accel.Backends.OpenCL;

/// <summary>ILGPU's OpenCL C for one kernel, before lowering.</summary>
/// <param name="EntryName">The name of the <c>kernel</c> function in <paramref name="Source"/>.</param>
/// <param name="Source">The OpenCL C source exactly as ILGPU's <c>CLBackend</c> generated it.</param>
/// <param name="IsImplicitlyGrouped">Whether the kernel takes an index first (launch extent argument).</param>
public sealed record OpenClGeneratedKernel(string EntryName, string Source, bool IsImplicitlyGrouped);

/// <summary>
/// Compiles C# kernel methods to OpenCL C with ILGPU's <c>CLBackend</c>, constructed without an
/// accelerator (so it works for devices ILGPU's own OpenCL accelerator refuses). The capability
/// context describes the device: fp16 / fp64 / 64-bit atomics only where the device has the
/// extensions, and never sub-groups or the generic address space, because the generated code is
/// lowered to OpenCL C 1.2 (<see cref="OpenClLowering"/>), where neither exists; a kernel that
/// uses warp intrinsics therefore fails here with ILGPU's reason. Thread-safe.
/// </summary>
public sealed class OpenClCodeGenerator : IDisposable
{
    private readonly Context context;
    private readonly CLBackend backend;
    private readonly Lock gate = new();

    /// <summary>Creates a generator whose capabilities are those of <paramref name="device"/>.</summary>
    public OpenClCodeGenerator(OpenClDeviceInfo device)
        : this(device?.SupportsFp16 ?? false, device?.SupportsFp64 ?? false,
            device?.SupportsInt64Atomics ?? false, VendorOf(device?.Vendor))
    {
    }

    /// <summary>Creates a generator for a device with the given capabilities (no device needed).</summary>
    /// <param name="float16">The device has cl_khr_fp16.</param>
    /// <param name="float64">The device has cl_khr_fp64.</param>
    /// <param name="int64Atomics">The device has cl_khr_int64_base_atomics and _extended_atomics.</param>
    public OpenClCodeGenerator(bool float16, bool float64, bool int64Atomics)
        : this(float16, float64, int64Atomics, CLDeviceVendor.Other)
    {
    }

    private OpenClCodeGenerator(bool float16, bool float64, bool int64Atomics, CLDeviceVendor vendor)
    {
        context = Context.Create(builder => builder.Optimize(OptimizationLevel.O1));
        var capabilities = new CLCapabilityContext(
            float16: float16, float64: float64, genericAddressSpace: false,
            int64_Atomics: int64Atomics, subGroups: false);
        backend = new CLBackend(context, capabilities, vendor, CLCVersion.CL12);
    }

    /// <summary>The ILGPU version that generates the code (part of every cache key).</summary>
    public static string IlgpuVersion => typeof(Context).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>
    /// Generates OpenCL C for <paramref name="kernel"/>. An implicitly grouped kernel takes
    /// <c>Index1D</c>/<c>Index2D</c>/<c>Index3D</c> first; any other kernel is explicitly grouped.
    /// </summary>
    /// <param name="kernel">A static void kernel method with all generic arguments bound.</param>
    /// <param name="specialization">One value per <c>SpecializedValue&lt;T&gt;</c> parameter, in order.</param>
    /// <param name="opName">The op the kernel serves, for error messages (default: the method name).</param>
    /// <exception cref="KernelCompilationException">ILGPU could not compile the kernel (the log holds why).</exception>
    public OpenClGeneratedKernel Generate(MethodInfo kernel, IReadOnlyList<object>? specialization = null,
        string? opName = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var signature = KernelSignature.Create(kernel);
        var values = signature.NormalizeSpecialization(specialization);
        var entry = signature.IsImplicitlyGrouped
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        try
        {
            CLCompiledKernel compiled;
            lock (gate)
            {
                compiled = (CLCompiledKernel)(values.IsEmpty
                    ? backend.Compile(entry, new KernelSpecialization(null, null))
                    : IlgpuSpecializer.Compile(backend, entry, values));
            }

            return new OpenClGeneratedKernel(compiled.Name, compiled.Source, signature.IsImplicitlyGrouped);
        }
        catch (Exception e) when (e is not KernelCompilationException and not OutOfMemoryException)
        {
            throw new KernelCompilationException(ClStatus.Backend, opName ?? kernel.Name,
                "ILGPU could not generate OpenCL C for this kernel:\n" + Describe(e), e);
        }
    }

    /// <summary>Releases the ILGPU context.</summary>
    public void Dispose()
    {
        backend.Dispose();
        context.Dispose();
    }

    private static string Describe(Exception e)
    {
        var text = new StringBuilder();
        for (var current = e; current is not null; current = current.InnerException)
        {
            text.Append(current.GetType().Name).Append(": ").AppendLine(current.Message);
        }

        return text.ToString();
    }

    private static CLDeviceVendor VendorOf(string? vendor) => vendor switch
    {
        null => CLDeviceVendor.Other,
        _ when vendor.Contains("NVIDIA", StringComparison.OrdinalIgnoreCase) => CLDeviceVendor.Nvidia,
        _ when vendor.Contains("Intel", StringComparison.OrdinalIgnoreCase) => CLDeviceVendor.Intel,
        _ when vendor.Contains("AMD", StringComparison.OrdinalIgnoreCase)
            || vendor.Contains("Advanced Micro", StringComparison.OrdinalIgnoreCase) => CLDeviceVendor.AMD,
        _ => CLDeviceVendor.Other,
    };
}
