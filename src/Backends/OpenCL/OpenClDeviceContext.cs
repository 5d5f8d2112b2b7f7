using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using System.Collections.Immutable;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using Accel.Errors;
using Silk.NET.OpenCL;

namespace Accel.Backends.OpenCL;

/// <summary>
/// An OpenCL context and in-order command queue on one device: allocates
/// <see cref="OpenClBuffer"/>s, loads ILGPU kernels as <see cref="OpenClKernel"/>s (generated,
/// lowered to OpenCL C 1.2, built, and cached in memory and on disk) and waits for work.
/// Disposing it releases its kernels and queue; buffers should be disposed first.
/// </summary>
public sealed unsafe class OpenClDeviceContext : IDisposable
{
    private const int ContextPlatform = 0x1084; // CL_CONTEXT_PLATFORM
    private readonly Dictionary<string, OpenClKernel> kernels = new();
    private readonly Lock loadGate = new();
    private readonly string? extraBuildOptions;
    private readonly ILogger logger;
    private OpenClCodeGenerator? generator;
    private nint context;
    private nint queue;

    internal OpenClDeviceContext(CL api, OpenClDeviceInfo device, nint platformId, nint deviceId,
        OpenClProgramCache cache, string? extraBuildOptions, ILogger? logger = null)
    {
        this.logger = logger ?? NullLogger.Instance;
        Api = api;
        Device = device;
        DeviceId = deviceId;
        ProgramCache = cache;
        this.extraBuildOptions = extraBuildOptions;
        int status;
        nint* properties = stackalloc nint[] { ContextPlatform, platformId, 0 };
        nint dev = deviceId;
        lock (OpenClLibrary.CallbackCalls)
        {
            context = api.CreateContext(properties, 1, &dev, null, null, &status);
        }

        ClStatus.Check(status, $"clCreateContext({device.Name})");
#pragma warning disable CS0618 // clCreateCommandQueue is the call OpenCL 1.2 devices have
        queue = api.CreateCommandQueue(context, deviceId, CommandQueueProperties.None, &status);
#pragma warning restore CS0618
        if (status != ClStatus.Success)
        {
            api.ReleaseContext(context);
            ClStatus.Check(status, $"clCreateCommandQueue({device.Name})");
        }
    }

    /// <summary>The device this context runs on.</summary>
    public OpenClDeviceInfo Device { get; }

    /// <summary>The program cache (shared by all contexts of one <see cref="OpenClRuntime"/>).</summary>
    public OpenClProgramCache ProgramCache { get; }

    /// <summary>
    /// The options given to every <c>clBuildProgram</c>: the device's <c>-cl-std</c>, <c>-w</c> (some
    /// compilers, PoCL's among them, print "N warnings generated" to the process's standard error;
    /// the generated code's warnings are not actionable), plus extras. Whatever build log remains goes
    /// to the runtime's logger at debug level.
    /// </summary>
    public string BuildOptions => $"{Device.ClStdOption} -w {extraBuildOptions}".Trim();

    internal CL Api { get; }

    internal nint DeviceId { get; }

    internal nint Queue => queue != 0 ? queue : throw new ObjectDisposedException(nameof(OpenClDeviceContext));

    /// <summary>Allocates a buffer of <paramref name="length"/> elements of <typeparamref name="T"/>.</summary>
    /// <exception cref="DeviceMemoryException">The device cannot hold it.</exception>
    public OpenClBuffer Allocate<T>(long length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return AllocateBytes(checked(length * Unsafe.SizeOf<T>()));
    }

    /// <summary>Allocates a buffer and uploads <paramref name="data"/> into it.</summary>
    public OpenClBuffer Upload<T>(ReadOnlySpan<T> data) where T : unmanaged
    {
        var buffer = Allocate<T>(data.Length);
        buffer.Upload(data);
        return buffer;
    }

    /// <summary>Allocates <paramref name="bytes"/> bytes of device memory (contents undefined).</summary>
    /// <exception cref="DeviceMemoryException">Above the device's largest allocation, or the driver ran out.</exception>
    public OpenClBuffer AllocateBytes(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes > Device.MaxAllocationBytes)
        {
            throw new DeviceMemoryException(ClStatus.Backend,
                $"A buffer of {bytes} bytes exceeds the largest allocation {Device.Name} allows " +
                $"({Device.MaxAllocationBytes} bytes); split the tensor or use a device with more memory.");
        }

        int status;
        // OpenCL rejects empty buffers; a 1-byte one stands in so that empty tensors still work.
        nint mem = Api.CreateBuffer(Context, MemFlags.ReadWrite, (nuint)Math.Max(bytes, 1), null, &status);
        ClStatus.Check(status, $"clCreateBuffer({bytes} bytes)");
        return new OpenClBuffer(this, mem, bytes);
    }

    /// <summary>
    /// Loads an ILGPU kernel: from the memory cache of this context, else from a cached binary
    /// (memory or disk), else generated by ILGPU, lowered to OpenCL C 1.2 and built. Implicitly
    /// grouped kernels take <c>Index1D</c>/<c>2D</c>/<c>3D</c> first; others are explicitly grouped.
    /// </summary>
    /// <param name="kernel">A static void kernel method (generic ones with their type arguments bound,
    /// e.g. <c>method.MakeGenericMethod(typeof(Tile16))</c>).</param>
    /// <param name="specialization">One value per <c>SpecializedValue&lt;T&gt;</c> parameter, in order
    /// (as <c>T</c> or <c>SpecializedValue&lt;T&gt;</c>); they are compiled in as constants.</param>
    /// <param name="opName">The op the kernel serves, for error messages (default: Type.Method).</param>
    /// <exception cref="KernelCompilationException">Generation, lowering or the driver's build failed.</exception>
    public OpenClKernel LoadKernel(MethodInfo kernel, IReadOnlyList<object>? specialization = null, string? opName = null)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        var signature = KernelSignature.Create(kernel);
        var values = signature.NormalizeSpecialization(specialization);
        string op = opName ?? $"{kernel.DeclaringType?.Name}.{kernel.Name}";
        string key = OpenClProgramCache.Key("accel-opencl-program", Device.Name, Device.Vendor, Device.Version,
            Device.DriverVersion, Device.PlatformName, Device.PlatformVersion, kernel.Module.ModuleVersionId.ToString(),
            kernel.DeclaringType?.AssemblyQualifiedName ?? "", kernel.ToString() ?? kernel.Name,
            KernelSignature.DescribeSpecialization(values), BuildOptions, OpenClCodeGenerator.IlgpuVersion,
            OpenClLowering.Version.ToString(CultureInfo.InvariantCulture));
        var specializedBytes = values.Select(KernelSignature.SpecializedBytes).ToImmutableArray();

        lock (loadGate)
        {
            ObjectDisposedException.ThrowIf(context == 0, this);
            if (kernels.TryGetValue(key, out var loaded))
            {
                return loaded;
            }

            var result = TryLoadCached(key, signature, specializedBytes, op)
                ?? BuildAndCache(key, kernel, signature, values, specializedBytes, op);
            kernels[key] = result;
            return result;
        }
    }

    /// <summary>
    /// Builds OpenCL C source for this device; a compiler error raises
    /// <see cref="KernelCompilationException"/> with the build log and <paramref name="opName"/>.
    /// </summary>
    /// <param name="source">OpenCL C source.</param>
    /// <param name="opName">The op the program serves, for error messages.</param>
    /// <param name="options">clBuildProgram options; null uses <see cref="BuildOptions"/>.</param>
    public OpenClProgram BuildProgram(string source, string opName, string? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        return OpenClProgram.FromSource(Api, Context, DeviceId, source, options ?? BuildOptions, opName);
    }

    /// <summary>Waits until all enqueued launches and transfers have finished.</summary>
    public void Synchronize() => ClStatus.Check(Api.Finish(Queue));

    /// <summary>Releases the kernels, the queue and the context.</summary>
    public void Dispose()
    {
        lock (loadGate)
        {
            foreach (var kernel in kernels.Values)
            {
                kernel.Release();
            }

            kernels.Clear();
            generator?.Dispose();
            generator = null;
            if (queue != 0)
            {
                Api.Finish(queue);
                Api.ReleaseCommandQueue(queue);
                queue = 0;
            }

            if (context != 0)
            {
                Api.ReleaseContext(context);
                context = 0;
            }
        }
    }

    /// <summary>Releases a buffer's cl_mem (called by <see cref="OpenClBuffer.Dispose"/>).</summary>
    internal void Release(OpenClBuffer buffer, nint mem) => Api.ReleaseMemObject(mem);

    private nint Context => context != 0 ? context : throw new ObjectDisposedException(nameof(OpenClDeviceContext));

    private OpenClKernel? TryLoadCached(string key, KernelSignature signature,
        ImmutableArray<byte[]> specializedBytes, string op)
    {
        var cached = ProgramCache.TryGet(key, out var origin);
        if (cached is null)
        {
            return null;
        }

        var program = OpenClProgram.TryFromBinary(Api, Context, DeviceId, cached.Binary, BuildOptions);
        if (program is not null)
        {
            try
            {
                return new OpenClKernel(this, program, cached.EntryName, signature, specializedBytes, op, origin);
            }
            catch (BackendException)
            {
                program.Dispose();
            }
        }

        ProgramCache.Discard(key); // rejected by the driver: rebuild from source
        return null;
    }

    private OpenClKernel BuildAndCache(string key, MethodInfo kernel, KernelSignature signature,
        ImmutableArray<object> values,
        ImmutableArray<byte[]> specializedBytes, string op)
    {
        generator ??= new OpenClCodeGenerator(Device);
        var generated = generator.Generate(kernel, values, op);
        string source = OpenClLowering.ToOpenCl12(generated.Source);
        var problems = OpenClLowering.FindUnsupported(source);
        if (problems.Count > 0)
        {
            throw new KernelCompilationException(ClStatus.Backend, op,
                "The generated OpenCL C uses what OpenCL C 1.2 lacks:\n" + string.Join("\n", problems) +
                "\n\nLowered source:\n" + source);
        }

        var program = OpenClProgram.FromSource(Api, Context, DeviceId, source, BuildOptions, op);
        if (!string.IsNullOrWhiteSpace(program.BuildLog))
        {
            logger.LogDebug("OpenCL build log of {Op} on {Device}: {Log}", op, Device.Name, program.BuildLog.Trim());
        }

        try
        {
            var binary = program.GetBinary();
            var result = new OpenClKernel(this, program, generated.EntryName, signature, specializedBytes, op,
                OpenClProgramOrigin.Built);
            ProgramCache.Store(key, new CachedProgram(generated.EntryName, binary));
            return result;
        }
        catch
        {
            program.Dispose();
            throw;
        }
    }
}
