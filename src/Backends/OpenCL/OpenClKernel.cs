using System.Collections.Immutable;
using System.Reflection;
using Silk.NET.OpenCL;

namespace Accel.Backends.OpenCL;

/// <summary>
/// A kernel loaded on one device: ILGPU's argument layout is reproduced here, so it is launched
/// with the C# parameters only (views, scalars, structs; the <c>SpecializedValue&lt;T&gt;</c>
/// parameters were fixed at load time and are filled in). Launches are enqueued on the context's
/// in-order queue; call <see cref="OpenClDeviceContext.Synchronize"/> or download a buffer to wait.
/// Launching is thread-safe (argument setting and enqueueing happen under one lock). The kernel
/// lives as long as its context, which releases it.
/// </summary>
public sealed unsafe class OpenClKernel
{
    private readonly OpenClDeviceContext owner;
    private readonly OpenClProgram program;
    private readonly KernelSignature signature;
    private readonly ImmutableArray<byte[]> specialized;
    private readonly Lock gate = new();
    private nint handle;

    internal OpenClKernel(OpenClDeviceContext owner, OpenClProgram program, string entryName,
        KernelSignature signature, ImmutableArray<byte[]> specialized, string opName, OpenClProgramOrigin origin)
    {
        this.owner = owner;
        this.program = program;
        this.signature = signature;
        this.specialized = specialized;
        Name = entryName;
        OpName = opName;
        Origin = origin;
        int status;
        handle = owner.Api.CreateKernel(program.Handle, entryName, &status);
        ClStatus.Check(status, $"clCreateKernel('{entryName}')");
        uint argCount;
        ClStatus.Check(owner.Api.GetKernelInfo(handle, KernelInfo.NumArgs, sizeof(uint), &argCount, null));
        if (argCount != signature.ClArgumentCount)
        {
            Release();
            throw new Accel.Errors.BackendException(ClStatus.Backend,
                $"Kernel {entryName} for {opName} has {argCount} OpenCL arguments but its C# signature maps to " +
                $"{signature.ClArgumentCount}; the ILGPU argument layout changed. Clear the OpenCL program cache.");
        }

        nuint size;
        ClStatus.Check(owner.Api.GetKernelWorkGroupInfo(handle, owner.DeviceId, KernelWorkGroupInfo.WorkGroupSize,
            (nuint)sizeof(nuint), &size, null));
        MaxGroupSize = (long)size;
        ulong local;
        ClStatus.Check(owner.Api.GetKernelWorkGroupInfo(handle, owner.DeviceId, KernelWorkGroupInfo.LocalMemSize,
            sizeof(ulong), &local, null));
        LocalMemoryBytes = (long)local;
    }

    /// <summary>The kernel function's name in the program (e.g. <c>Kernel_VectorAdd</c>).</summary>
    public string Name { get; }

    /// <summary>The op this kernel serves (used in error messages).</summary>
    public string OpName { get; }

    /// <summary>The C# kernel method.</summary>
    public MethodInfo Method => signature.Method;

    /// <summary>Whether the kernel is implicitly grouped (takes an index first).</summary>
    public bool IsImplicitlyGrouped => signature.IsImplicitlyGrouped;

    /// <summary>Whether the program was built now or came from the memory or disk cache.</summary>
    public OpenClProgramOrigin Origin { get; }

    /// <summary>The largest group this kernel can run with on its device (CL_KERNEL_WORK_GROUP_SIZE).</summary>
    public long MaxGroupSize { get; }

    /// <summary>The shared (local) memory the kernel uses per group, in bytes.</summary>
    public long LocalMemoryBytes { get; }

    /// <summary>
    /// Launches <paramref name="gridDim"/> groups of <paramref name="groupDim"/> work-items.
    /// For an explicitly grouped kernel these are ILGPU's <c>Grid.Dim</c> and <c>Group.Dim</c>; an
    /// implicitly grouped kernel gets the extent <c>gridDim * groupDim</c>. An empty grid does nothing.
    /// </summary>
    /// <param name="gridDim">Number of groups per dimension.</param>
    /// <param name="groupDim">Work-items per group per dimension (within the device limits).</param>
    /// <param name="args">The C# parameters after the index, without the specialised ones.</param>
    public void Launch(Dim3 gridDim, Dim3 groupDim, params ReadOnlySpan<KernelArg> args)
    {
        gridDim.ThrowIfNegative(nameof(gridDim));
        groupDim.ThrowIfNegative(nameof(groupDim));
        var extent = new Dim3(checked(gridDim.X * groupDim.X), checked(gridDim.Y * groupDim.Y),
            checked(gridDim.Z * groupDim.Z));
        Enqueue(extent, groupDim, extent, args);
    }

    /// <summary>
    /// Launches an implicitly grouped kernel over <paramref name="extent"/> work-items; the group
    /// size is chosen within the device's limits (<see cref="ChooseGroupSize"/>), the global size
    /// rounded up to it (ILGPU's generated code skips the work-items past the extent).
    /// </summary>
    /// <param name="extent">The index space (its rank must not exceed the kernel's index rank).</param>
    /// <param name="args">The C# parameters after the index, without the specialised ones.</param>
    public void LaunchAutoGrouped(Dim3 extent, params ReadOnlySpan<KernelArg> args)
    {
        if (!IsImplicitlyGrouped)
        {
            throw new InvalidOperationException(
                $"Kernel {Name} is explicitly grouped; launch it with Launch(gridDim, groupDim, ...).");
        }

        extent.ThrowIfNegative(nameof(extent));
        var group = ChooseGroupSize(extent);
        var global = new Dim3(RoundUp(extent.X, group.X), RoundUp(extent.Y, group.Y), RoundUp(extent.Z, group.Z));
        Enqueue(global, group, extent, args);
    }

    /// <summary>The group size <see cref="LaunchAutoGrouped"/> uses for <paramref name="extent"/>.</summary>
    public Dim3 ChooseGroupSize(Dim3 extent)
    {
        long limit = Math.Min(MaxGroupSize, owner.Device.MaxWorkGroupSize);
        int Cap(int wanted, int d, long budget) =>
            (int)Math.Max(1, Math.Min(Math.Min(wanted, budget), ItemLimit(d)));
        return extent.Rank switch
        {
            1 => new Dim3(Cap(Math.Min(extent.X, 256), 0, limit)),
            2 => Two(Cap(Math.Min(extent.X, 16), 0, limit)),
            _ => Three(Cap(Math.Min(extent.X, 8), 0, limit)),
        };

        Dim3 Two(int x) => new(x, Cap(Math.Min(extent.Y, 16), 1, limit / x));
        Dim3 Three(int x)
        {
            int y = Cap(Math.Min(extent.Y, 8), 1, limit / x);
            return new Dim3(x, y, Cap(Math.Min(extent.Z, 4), 2, limit / x / y));
        }
    }

    /// <summary>Releases the kernel and its program (the context does this when disposed).</summary>
    internal void Release()
    {
        var h = Interlocked.Exchange(ref handle, 0);
        if (h != 0)
        {
            owner.Api.ReleaseKernel(h);
        }

        program.Dispose();
    }

    private long ItemLimit(int d) =>
        d < owner.Device.MaxWorkItemSizes.Length ? owner.Device.MaxWorkItemSizes[d] : 1;

    private void Enqueue(Dim3 global, Dim3 group, Dim3 extent, ReadOnlySpan<KernelArg> args)
    {
        ObjectDisposedException.ThrowIf(handle == 0, this);
        if (signature.IsImplicitlyGrouped && extent.Rank > signature.IndexRank)
        {
            throw new ArgumentException(
                $"Kernel {Name} takes a {signature.IndexRank}-D index but was launched over {extent}.", nameof(args));
        }

        CheckGroup(group);
        lock (gate)
        {
            KernelArguments.Set(owner.Api, handle, signature, specialized, extent, args, owner, Name);
            if (global.IsEmpty)
            {
                return;
            }

            nuint* globalSize = stackalloc nuint[] { (nuint)global.X, (nuint)global.Y, (nuint)global.Z };
            nuint* localSize = stackalloc nuint[] { (nuint)group.X, (nuint)group.Y, (nuint)group.Z };
            uint dims = (uint)Math.Max(Math.Max(global.Rank, group.Rank), signature.IndexRank);
            ClStatus.Check(owner.Api.EnqueueNdrangeKernel(owner.Queue, handle, dims, null, globalSize, localSize,
                0, null, null), $"clEnqueueNDRangeKernel({Name}, global {global}, local {group})");
        }
    }

    private void CheckGroup(Dim3 group)
    {
        if (group.IsEmpty)
        {
            throw new ArgumentOutOfRangeException(nameof(group), group, "A group needs at least one work-item per dimension.");
        }

        if (group.Size > MaxGroupSize || group.X > ItemLimit(0) || group.Y > ItemLimit(1) || group.Z > ItemLimit(2))
        {
            throw new ArgumentOutOfRangeException(nameof(group), group,
                $"Group {group} exceeds what kernel {Name} can run with on {owner.Device.Name}: at most " +
                $"{MaxGroupSize} work-items and ({string.Join(", ", owner.Device.MaxWorkItemSizes)}) per dimension.");
        }
    }

    private static int RoundUp(int value, int multiple) =>
        value == 0 ? 0 : checked((value + multiple - 1) / multiple * multiple);
}
