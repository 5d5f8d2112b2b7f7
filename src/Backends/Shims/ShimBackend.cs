using Accel.Errors;
using Accel.Graph;
using Accel.Profiles;
using Accel.Types;

namespace Accel.Backends.Shims;

/// <summary>A shim backend without its runtime type: for tools and tests that inspect any shim.</summary>
public interface IShimBackend : IBackend
{
    /// <summary>The vendor runtime.</summary>
    IShimRuntime ShimRuntime { get; }

    /// <summary>The hardware profile applied.</summary>
    HardwareProfile Profile { get; }

    /// <summary>The memory limit applied (the profile's device memory), or null where it is unknown.</summary>
    long? MemoryLimitBytes { get; }
}

/// <summary>
/// A vendor shim as an Accel backend: applies the hardware profile (dtype legalisation, padding of
/// allocations to the alignment and tile multiples, the device memory limit) and hands memory,
/// copies and launches to the vendor runtime <typeparamref name="TRuntime"/>, which maps them onto
/// its execution target (emulated) or the vendor library (native).
/// </summary>
/// <typeparam name="TRuntime">The vendor runtime interface.</typeparam>
public sealed class ShimBackend<TRuntime> : BackendBase, IShimBackend
    where TRuntime : IShimRuntime
{
    /// <summary>Opens the shim over <paramref name="runtime"/>, which it then owns.</summary>
    public ShimBackend(DeviceDescriptor device, TRuntime runtime)
        : base(device, runtime.Profile.Memory.DeviceMemoryBytes)
    {
        Runtime = runtime;
    }

    /// <summary>The vendor runtime.</summary>
    public TRuntime Runtime { get; }

    /// <inheritdoc/>
    public IShimRuntime ShimRuntime => Runtime;

    /// <summary>The hardware profile applied.</summary>
    public HardwareProfile Profile => Runtime.Profile;

    /// <summary>The bytes requested for a tensor: its two innermost axes padded to tile multiples, then to the alignment.</summary>
    public long RequestBytes(TensorDesc deviceDesc)
    {
        ArgumentNullException.ThrowIfNull(deviceDesc);
        var tile = Runtime.Kernels.RequestedTile;
        var dims = Enumerable.Range(0, deviceDesc.Shape.Rank).Select(a => deviceDesc.Shape[a]).ToArray();
        if (dims.Length >= 1)
        {
            dims[^1] = EmulatedRuntime.RoundUp(dims[^1], tile.K);
        }

        if (dims.Length >= 2)
        {
            dims[^2] = EmulatedRuntime.RoundUp(dims[^2], Math.Max(tile.M, tile.N));
        }

        long elements = dims.Aggregate(1L, (a, d) => a * d);
        return EmulatedRuntime.RoundUp(deviceDesc.Type.ByteSize(elements), Profile.Memory.EffectiveAlignment);
    }

    /// <inheritdoc/>
    public override OpTable Ops => Runtime.Target.Ops;

    /// <inheritdoc/>
    protected override OpSupport SupportsCore(OpNode node, Graph.Graph graph)
    {
        var legal = DTypeLegalizer.Check(Profile, node, graph);
        if (!legal.IsSupported)
        {
            return legal;
        }

        var inner = Runtime.Target.Supports(node, graph);
        return inner.IsSupported ? inner : OpSupport.No($"{Runtime.TargetId} (under {Profile.Id}): {inner.Reason}");
    }

    /// <inheritdoc/>
    protected override IDeviceBuffer AllocateCore(TensorDesc desc)
    {
        var deviceDesc = desc with { Type = DTypeLegalizer.DeviceType(Profile, desc.Type) };
        var memory = Runtime.Allocate(deviceDesc, RequestBytes(deviceDesc));
        return new ShimBuffer(this, desc, memory, OnBufferReleased);
    }

    /// <inheritdoc/>
    protected override void UploadCore(IDeviceBuffer destination, ReadOnlySpan<byte> source)
    {
        var b = (ShimBuffer)destination;
        if (!b.IsConverted)
        {
            Runtime.CopyToDevice(b.Memory, source);
            return;
        }

        b.Original = source.ToArray();
        if (DTypeLegalizer.IsQuantized(b.Desc.Type))
        {
            b.Pending = true;
        }
        else
        {
            Runtime.CopyToDevice(b.Memory, DTypeLegalizer.Convert(source, b.Desc.Type, b.DeviceType, b.Desc.Shape.Elements));
        }
    }

    /// <inheritdoc/>
    protected override void DownloadCore(IDeviceBuffer source, Span<byte> destination)
    {
        var b = (ShimBuffer)source;
        if (!b.IsConverted)
        {
            Runtime.CopyToHost(b.Memory, destination);
        }
        else if (b.Original is { } original)
        {
            original.CopyTo(destination);
        }
        else
        {
            throw new BackendException(Device.Backend, $"'{b.Desc.Name}' was converted to {b.DeviceType.ShortName()} and never uploaded.");
        }
    }

    /// <inheritdoc/>
    protected override void ExecuteCore(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs)
    {
        var ins = inputs.Select(b => ((ShimBuffer?)b)?.Memory).ToArray();
        foreach (var (w, s) in DTypeLegalizer.WeightInputs(node.Kind))
        {
            if (s >= 0 && w < ins.Length && inputs[w] is ShimBuffer { IsConverted: true } weight
                && DTypeLegalizer.IsQuantized(weight.Desc.Type))
            {
                lock (weight)
                {
                    if (weight.Pending)
                    {
                        Fold(weight, (ShimBuffer)inputs[s]!);
                    }
                }

                ins[s] = null;
            }
        }

        if (node.Kind is OpKind.DequantFp8Block or OpKind.DequantFp4 && ins[1] is null)
        {
            // The weight was dequantised when its scales were folded in: the op is a copy.
            Runtime.CopyOnDevice(((ShimBuffer)outputs[0]).Memory, ((ShimBuffer)inputs[0]!).Memory);
            return;
        }

        Runtime.Launch(node, ins, [.. outputs.Select(b => ((ShimBuffer)b).Memory)]);
    }

    /// <summary>Widens a block-scaled weight and folds its scales in, writing f32 device memory.</summary>
    private void Fold(ShimBuffer weight, ShimBuffer scale)
    {
        byte[] scaleBytes;
        if (scale.Original is { } staged)
        {
            scaleBytes = staged;
        }
        else
        {
            scaleBytes = new byte[scale.Desc.ByteSize];
            Runtime.CopyToHost(scale.Memory, scaleBytes);
        }

        var f32 = DTypeLegalizer.Dequantize(weight.Original!, weight.Desc.Type, scaleBytes, scale.Desc.Type, weight.Desc.Shape);
        Runtime.CopyToDevice(weight.Memory, f32);
        weight.Pending = false;
    }

    /// <inheritdoc/>
    protected override void SynchronizeCore() => Runtime.Synchronize();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Runtime.Dispose();
        }
    }
}
