using System.Reflection;
using Accel.Backends.KernelDispatch;
using Accel.Kernels;
using Accel.Types;

namespace Accel.Backends.OpenCL;

/// <summary>
/// The OpenCL launch engine: maps buffers to <see cref="OpenClBufferView"/>s and values to
/// <see cref="KernelArg"/>s, and launches kernels loaded once per method through
/// <see cref="OpenClDeviceContext.LoadKernel"/> (memory cache, disk cache, or a build).
/// </summary>
internal sealed class OpenClEngine(OpenClBackend backend, OpenClDeviceContext context) : IKernelEngine
{
    private static readonly MethodInfo ValueOf =
        typeof(KernelArg).GetMethod(nameof(KernelArg.Value), BindingFlags.Public | BindingFlags.Static)!;

    private readonly Dictionary<MethodInfo, OpenClKernel> _kernels = [];

    /// <summary>Kernels loaded so far.</summary>
    public int LoadedCount => _kernels.Count;

    /// <summary>Kernels compiled from source.</summary>
    public int Built { get; private set; }

    /// <summary>Kernels loaded from the disk cache.</summary>
    public int FromDisk { get; private set; }

    /// <inheritdoc/>
    public EngineLimits Limits { get; } = LimitsOf(context.Device);

    /// <inheritdoc/>
    public void Launch(MethodInfo kernel, LaunchShape shape, ReadOnlySpan<KernelOperand> args, string op)
    {
        var loaded = Load(kernel, op);
        var values = new KernelArg[args.Length];
        for (int i = 0; i < args.Length; i++)
        {
            values[i] = Convert(args[i]);
        }

        loaded.Launch(new Dim3(shape.GridX, shape.GridY), new Dim3(shape.GroupX, shape.GroupY), values);
    }

    /// <inheritdoc/>
    public IDeviceBuffer AllocateScratch(TensorDesc desc) => backend.Allocate(desc);

    /// <inheritdoc/>
    public IDeviceBuffer AllocateStatus(int elements) =>
        backend.AllocateUncounted(new TensorDesc("status", DType.I32, new Shape(elements)));

    /// <inheritdoc/>
    public void Write(IDeviceBuffer buffer, ReadOnlySpan<byte> source) => ((OpenClDeviceBuffer)buffer).Memory.Upload(source);

    /// <inheritdoc/>
    public void Read(IDeviceBuffer buffer, Span<byte> destination) =>
        ((OpenClDeviceBuffer)buffer).Memory.Download(destination);

    /// <inheritdoc/>
    public void Wait() => context.Synchronize();

    private OpenClKernel Load(MethodInfo method, string op)
    {
        if (_kernels.TryGetValue(method, out var cached))
        {
            return cached;
        }

        var kernel = context.LoadKernel(method, null, op);
        if (kernel.Origin == OpenClProgramOrigin.Built)
        {
            Built++;
        }
        else if (kernel.Origin == OpenClProgramOrigin.DiskCache)
        {
            FromDisk++;
        }

        _kernels[method] = kernel;
        return kernel;
    }

    private static KernelArg Convert(KernelOperand o)
    {
        if (o.IsView)
        {
            var memory = ((OpenClDeviceBuffer)o.Buffer!).Memory;
            return o.Type switch
            {
                var t when t == typeof(float) => memory.View<float>(0, o.Length),
                var t when t == typeof(int) => memory.View<int>(0, o.Length),
                var t when t == typeof(ushort) => memory.View<ushort>(0, o.Length),
                var t when t == typeof(byte) => memory.View<byte>(0, o.Length),
                _ => throw new NotSupportedException($"No view of {o.Type.Name} elements."),
            };
        }

        return o.Value switch
        {
            int v => v,
            float v => v,
            long v => v,
            GemmArgs v => KernelArg.Value(v),
            WeightDims v => KernelArg.Value(v),
            _ => (KernelArg)ValueOf.MakeGenericMethod(o.Type).Invoke(null, [o.Value])!,
        };
    }

    private static EngineLimits LimitsOf(OpenClDeviceInfo device)
    {
        long group = device.MaxWorkGroupSize;
        if (device.MaxWorkItemSizes.Length > 0)
        {
            group = Math.Min(group, device.MaxWorkItemSizes[0]);
        }

        int threads = (int)Math.Clamp(group, 1, 1024);
        return new EngineLimits(threads, device.LocalMemoryBytes, Math.Max(1, device.ComputeUnits * 8));
    }
}
