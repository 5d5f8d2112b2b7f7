using System.Linq.Expressions;
using System.Reflection;
using System.Runtime.InteropServices;
using Accel.Backends.KernelDispatch;
using Accel.Errors;
using Accel.Types;
using ILGPU;
using ILGPU.Runtime;

namespace Accel.Backends.Ilgpu;

/// <summary>
/// The ILGPU launch engine: maps buffers to <see cref="ArrayView{T}"/>s and launches each kernel
/// method through a launcher loaded once per method on the accelerator's default stream.
/// </summary>
internal sealed class IlgpuEngine(IlgpuBackend backend, Accelerator accelerator) : IKernelEngine
{
    private readonly Dictionary<MethodInfo, Delegate> _kernels = [];

    /// <summary>Kernels loaded so far.</summary>
    public int LoadedCount => _kernels.Count;

    /// <inheritdoc/>
    public EngineLimits Limits { get; } = new(accelerator.MaxNumThreadsPerGroup, accelerator.MaxSharedMemoryPerGroup,
        Math.Max(1, accelerator.MaxNumThreads / Math.Min(256, accelerator.MaxNumThreadsPerGroup) * 4));

    private AcceleratorStream Stream => accelerator.DefaultStream;

    /// <inheritdoc/>
    public void Launch(MethodInfo kernel, LaunchShape shape, ReadOnlySpan<KernelOperand> args, string op)
    {
        var launcher = Load(kernel);
        var values = new object[args.Length + 2];
        values[0] = Stream;
        values[1] = new KernelConfig(new Index3D(shape.GridX, shape.GridY, 1), new Index3D(shape.GroupX, shape.GroupY, 1));
        for (int i = 0; i < args.Length; i++)
        {
            values[i + 2] = args[i].IsView ? View(args[i]) : args[i].Value!;
        }

        try
        {
            launcher.DynamicInvoke(values);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
        }
    }

    /// <inheritdoc/>
    public IDeviceBuffer AllocateScratch(TensorDesc desc) => backend.Allocate(desc);

    /// <inheritdoc/>
    public IDeviceBuffer AllocateStatus(int elements) =>
        backend.AllocateUncounted(new TensorDesc("status", DType.I32, new Shape(elements)));

    /// <inheritdoc/>
    /// <remarks>
    /// ILGPU turns the host reference into a raw address without pinning it, so a span over a
    /// managed array must be pinned for the whole copy: otherwise a garbage collection on another
    /// thread can move the array mid-copy and the copy reads from (or writes to) where it was.
    /// </remarks>
    public unsafe void Write(IDeviceBuffer buffer, ReadOnlySpan<byte> source)
    {
        if (!source.IsEmpty)
        {
            fixed (byte* pinned = source)
            {
                ((IlgpuBuffer)buffer).Bytes.CopyFromCPU(Stream, ref *pinned, source.Length);
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>Pins the destination for the copy, as <see cref="Write"/> does the source.</remarks>
    public unsafe void Read(IDeviceBuffer buffer, Span<byte> destination)
    {
        if (!destination.IsEmpty)
        {
            fixed (byte* pinned = destination)
            {
                ((IlgpuBuffer)buffer).Bytes.CopyToCPU(Stream, ref *pinned, destination.Length);
            }
        }
    }

    /// <inheritdoc/>
    public void Wait() => accelerator.Synchronize();

    /// <summary>The launcher of <paramref name="method"/>, loading (compiling) it on first use.</summary>
    private Delegate Load(MethodInfo method)
    {
        if (_kernels.TryGetValue(method, out var cached))
        {
            return cached;
        }

        Delegate launcher;
        try
        {
            Type[] types = [typeof(AcceleratorStream), typeof(KernelConfig), .. method.GetParameters().Select(p => p.ParameterType)];
            var delegateType = Expression.GetActionType(types);
            var kernel = accelerator.LoadKernel(method);
            launcher = (Delegate)CreateLauncher.MakeGenericMethod(delegateType).Invoke(kernel, null)!;
        }
        catch (Exception e) when (e is not AccelException)
        {
            var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
            throw new KernelCompilationException(backend.Device.Backend, KernelName(method), inner.Message, inner);
        }

        _kernels[method] = launcher;
        return launcher;
    }

    private static readonly MethodInfo CreateLauncher =
        typeof(Kernel).GetMethod(nameof(Kernel.CreateLauncherDelegate), BindingFlags.Public | BindingFlags.Instance)!;

    private static string KernelName(MethodInfo m) => m.IsGenericMethod
        ? $"{m.DeclaringType?.Name}.{m.Name}<{string.Join(", ", m.GetGenericArguments().Select(t => t.Name))}>"
        : $"{m.DeclaringType?.Name}.{m.Name}";

    private static object View(KernelOperand o)
    {
        var bytes = ((IlgpuBuffer)o.Buffer!).Bytes;
        return o.Type switch
        {
            var t when t == typeof(float) => bytes.Cast<float>().SubView(0, o.Length),
            var t when t == typeof(int) => bytes.Cast<int>().SubView(0, o.Length),
            var t when t == typeof(ushort) => bytes.Cast<ushort>().SubView(0, o.Length),
            var t when t == typeof(byte) => bytes.SubView(0, o.Length),
            _ => throw new NotSupportedException($"No view of {o.Type.Name} elements."),
        };
    }
}
