using System.Reflection;
using Accel.Errors;
using Accel.Graph;
using Accel.Kernels;
using ILGPU;
using ILGPU.Runtime;

namespace Accel.Backends.Ilgpu;

public sealed partial class IlgpuBackend
{
    private readonly Dictionary<MethodInfo, Delegate> _kernels = [];

    /// <summary>Number of kernels loaded so far (each closed kernel method is loaded once).</summary>
    public int LoadedKernelCount
    {
        get
        {
            lock (_gate)
            {
                return _kernels.Count;
            }
        }
    }

    /// <summary>The launcher of <paramref name="method"/>, loading (compiling) it on first use.</summary>
    private TDelegate Kernel<TDelegate>(MethodInfo method) where TDelegate : Delegate
    {
        if (_kernels.TryGetValue(method, out var cached))
        {
            return (TDelegate)cached;
        }

        TDelegate launcher;
        try
        {
            launcher = _accelerator.LoadKernel(method).CreateLauncherDelegate<TDelegate>();
        }
        catch (Exception e) when (e is not AccelException)
        {
            throw new KernelCompilationException(Device.Backend, KernelName(method), e.Message, e);
        }

        _kernels[method] = launcher;
        return launcher;
    }

    private static string KernelName(MethodInfo m) => m.IsGenericMethod
        ? $"{m.DeclaringType?.Name}.{m.Name}<{string.Join(", ", m.GetGenericArguments().Select(t => t.Name))}>"
        : $"{m.DeclaringType?.Name}.{m.Name}";

    private AcceleratorStream Stream => _accelerator.DefaultStream;

    /// <summary>A grid-stride launch over <paramref name="count"/> elements.</summary>
    private KernelConfig Elementwise(long count) =>
        new((int)Math.Min(CeilDiv(count, ElementGroup), MaxElementGroups), ElementGroup);

    /// <summary>One thread per item.</summary>
    private KernelConfig PerItem(long count) => new(checked((int)CeilDiv(count, ElementGroup)), ElementGroup);

    /// <summary>One row group per row.</summary>
    private KernelConfig PerRow(long rows) => new(checked((int)rows), RowGroup.Size);

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;

    /// <summary>Checks that an element count fits the kernels' 32-bit indexing.</summary>
    private static int Count(OpNode node, long count)
    {
        if (count > int.MaxValue - (1 << 24))
        {
            throw new BackendException(IlgpuProvider.ProviderName,
                $"Node '{node.Name}' ({node.Kind}) covers {count} elements, more than the ILGPU kernels index (2^31); " +
                "run fewer tokens at a time.");
        }

        return (int)count;
    }

    /// <summary>The status view and the tag under which a validating kernel of <paramref name="node"/> reports.</summary>
    private (ArrayView<int> Status, int Tag) StatusFor(OpNode node)
    {
        _checkedNodes.Add(node);
        return (_status.View.BaseView, _checkedNodes.Count - 1);
    }

    /// <summary>Reads the status word if a validating kernel ran since the last check; throws what it reports.</summary>
    private void CheckStatus()
    {
        if (_checkedNodes.Count == 0)
        {
            return;
        }

        int[] status = _status.GetAsArray1D(Stream);
        var nodes = _checkedNodes.ToArray();
        _checkedNodes.Clear();
        if (status[0] == KernelStatus.Ok)
        {
            return;
        }

        _status.MemSetToZero();
        string node = status[3] >= 0 && status[3] < nodes.Length ? nodes[status[3]].Name : "(unknown)";
        int value = status[1], position = status[2];
        string problem = status[0] switch
        {
            KernelStatus.TokenIdOutOfRange =>
                $"token id {value} at position {position} is outside the hash table; " +
                "check the token ids against the checkpoint's vocabulary.",
            KernelStatus.TableEntryOutOfRange =>
                $"tid2eid entry {position} is {value}, which is not an expert id.",
            KernelStatus.DuplicateExpert =>
                $"tid2eid row {position} names expert {value} twice; each row needs distinct experts.",
            KernelStatus.ExpertOutOfRange =>
                $"expert id {value} at position {position} is outside 0..E-1.",
            KernelStatus.RowOutOfRange =>
                $"row index {value} at position {position} does not address a row of its buffer.",
            KernelStatus.SegmentOverflow =>
                $"expert {value} has more rows than its segment in 'offsets'; the offsets do not match the ids.",
            _ => $"a kernel reported error code {status[0]}.",
        };
        throw new InvalidInputException($"Node '{node}': {problem}");
    }
}
