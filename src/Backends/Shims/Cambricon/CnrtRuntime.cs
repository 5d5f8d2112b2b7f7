using System.Numerics;
using Accel.Errors;
using Accel.Graph;
using Accel.Profiles;
using Accel.Types;

namespace Accel.Backends.Shims.Cambricon;

/// <summary>
/// The emulated CNRT runtime: queues are bookkeeping over one in-order inner target; GDRAM is
/// allocated in the profile's granules (64 B); an invocation checks the task type against the
/// clusters (BLOCK: one core per task; UNIONn: n a power of two, n at most the clusters, dim.x a
/// multiple of n × cores per cluster) and runs the node's kernels on the target. Clusters and cores
/// come from the profile: cores per cluster = the emulated warps per multiprocessor (a warp stands
/// for a core's vector unit), clusters = compute units / cores per cluster, or, where the profile
/// leaves the core count unknown, the emulated multiprocessors.
/// </summary>
public sealed class CnrtRuntime : EmulatedRuntime, ICambriconRuntime
{
    private int _queues;

    /// <summary>Opens the device with one queue.</summary>
    public CnrtRuntime(HardwareProfile profile)
        : base(profile)
    {
        var geometry = profile.Kernels.CpuEmulation;
        CoresPerCluster = geometry.WarpsPerMultiprocessor;
        Clusters = profile.Compute.Units.BaseValueAsInt64 is long cores
            ? (int)Math.Max(1, cores / CoresPerCluster)
            : geometry.Multiprocessors;
        DefaultQueue = CreateQueue();
        DefaultType = (CnrtFunctionType)((int)CnrtFunctionType.Union1 << BitOperations.Log2((uint)Math.Min(16, Clusters)));
    }

    /// <inheritdoc/>
    public int Clusters { get; }

    /// <inheritdoc/>
    public int CoresPerCluster { get; }

    /// <inheritdoc/>
    public CnrtQueue DefaultQueue { get; }

    /// <summary>The task type the shim launches with: the largest union that fits the clusters.</summary>
    public CnrtFunctionType DefaultType { get; }

    /// <summary>The dimension the shim launches with: every core of the union.</summary>
    public CnrtDim3 DefaultDim => new(UnionClusters(DefaultType) * CoresPerCluster);

    /// <inheritdoc/>
    public override string LaunchShape =>
        $"{DefaultType} dim.x {DefaultDim.X} ({Clusters} cluster(s) x {CoresPerCluster} cores) on {TargetId}";

    /// <inheritdoc/>
    protected override int BaseAlignment => Math.Max(1, Profile.Memory.EffectiveAlignment);

    /// <inheritdoc/>
    public override long AllocationSize(long requestBytes) => RoundUp(Math.Max(requestBytes, 1), BaseAlignment);

    /// <inheritdoc/>
    public CnrtQueue CreateQueue() => new(Interlocked.Increment(ref _queues));

    /// <inheritdoc/>
    public DeviceMemory Malloc(long size, TensorDesc desc) => Allocate(desc, size);

    /// <inheritdoc/>
    public void Memcpy(DeviceMemory destination, ReadOnlySpan<byte> source, MemcpyKind kind)
    {
        Require(kind == MemcpyKind.HostToDevice, $"a host source needs HostToDevice, not {kind}");
        CopyToDevice(destination, source);
    }

    /// <inheritdoc/>
    public void Memcpy(Span<byte> destination, DeviceMemory source, MemcpyKind kind)
    {
        Require(kind == MemcpyKind.DeviceToHost, $"a host destination needs DeviceToHost, not {kind}");
        CopyToHost(source, destination);
    }

    /// <summary>Clusters a union task type spans (0 for BLOCK).</summary>
    public static int UnionClusters(CnrtFunctionType type) => type == CnrtFunctionType.Block ? 0 : (int)type / 4;

    /// <inheritdoc/>
    public void ValidateTask(CnrtDim3 dim, CnrtFunctionType type)
    {
        Require(Enum.IsDefined(type), $"unknown task type {(int)type}");
        Require(dim.X >= 1 && dim.Y >= 1 && dim.Z >= 1, $"dimension {dim} has an empty axis");
        if (type != CnrtFunctionType.Block)
        {
            int n = UnionClusters(type);
            Require(n <= Clusters, $"{type} needs {n} clusters but {Profile.Id} has {Clusters}");
            Require(dim.X % (n * CoresPerCluster) == 0, $"{type} needs dim.x a multiple of {n * CoresPerCluster}, not {dim.X}");
        }
    }

    /// <inheritdoc/>
    public void InvokeKernel(CnrtKernel kernel, CnrtDim3 dim, CnrtFunctionType type, CnrtQueue queue)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ValidateTask(dim, type);
        RunOnTarget(kernel.Node, kernel.Inputs, kernel.Outputs);
    }

    /// <inheritdoc/>
    public void QueueSync(CnrtQueue queue) => Synchronize();

    /// <inheritdoc/>
    public override void Launch(OpNode node, IReadOnlyList<DeviceMemory?> inputs, IReadOnlyList<DeviceMemory> outputs) =>
        InvokeKernel(new CnrtKernel(node, inputs, outputs), DefaultDim, DefaultType, DefaultQueue);

    private void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new BackendException(Profile.Shim.Name(), $"cnrtErrorArgsInvalid on {Profile.Id}: {message}.");
        }
    }
}
