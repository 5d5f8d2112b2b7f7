using System.Runtime.InteropServices;

namespace Accel.Peers;

/// <summary>
/// The ggml weight tensors, each in its own no_alloc context and backend buffer. Quantised weights
/// go, as llama.cpp places them on a CPU, into the CPU backend's repacking buffer type
/// (<c>CPU_REPACK</c>, one of the device's extra buffer types) when this ggml build has a repacked
/// layout for that type on this processor (the buffer then sets the tensor's <c>extra</c>); other
/// weights, and quantised ones it cannot repack, go into the backend's default buffer.
/// </summary>
internal sealed unsafe class GgmlWeightStore : IDisposable
{
    private readonly GgmlApi _g;
    private readonly IntPtr _backend, _repack;
    private readonly List<(IntPtr Ctx, IntPtr Buffer)> _parts = [];

    public GgmlWeightStore(GgmlApi g, IntPtr backend, bool repack)
    {
        _g = g;
        _backend = backend;
        _repack = repack ? FindRepackBuffer(g) : IntPtr.Zero;
    }

    /// <summary>Names of the tensors placed in the repacking buffer.</summary>
    public List<string> Repacked { get; } = [];

    /// <summary>Whether this build offers a repacking buffer at all (and it was asked for).</summary>
    public bool HasRepack => _repack != IntPtr.Zero;

    /// <summary>Creates tensor <paramref name="name"/> of ggml type <paramref name="type"/> and shape ne (ne0 first), and writes <paramref name="data"/>.</summary>
    public IntPtr Add(string name, int type, long[] ne, byte[] data)
    {
        if (_repack != IntPtr.Zero && type is GgmlType.Q8_0 or GgmlType.MXFP4)
        {
            var (ctx, t) = New(name, type, ne);
            var buffer = _g.AllocCtxTensorsFromBuft(ctx, _repack);
            if (buffer != IntPtr.Zero && Marshal.ReadIntPtr(t, GgmlLayout.ExtraOffset) != IntPtr.Zero)
            {
                GgmlWeights.Set(_g, t, data);
                _parts.Add((ctx, buffer));
                Repacked.Add(name);
                return t;
            }

            if (buffer != IntPtr.Zero) { _g.BufferFree(buffer); }
            _g.Free(ctx);
        }

        var (plainCtx, tensor) = New(name, type, ne);
        var plain = _g.AllocCtxTensors(plainCtx, _backend);
        if (plain == IntPtr.Zero)
        {
            _g.Free(plainCtx);
            throw new InvalidOperationException($"ggml could not allocate {data.Length} bytes for '{name}'.");
        }

        _parts.Add((plainCtx, plain));
        GgmlWeights.Set(_g, tensor, data);
        return tensor;
    }

    private (IntPtr Ctx, IntPtr Tensor) New(string name, int type, long[] ne)
    {
        var ctx = _g.Init(new GgmlInitParams { MemSize = 4 * _g.TensorOverhead(), NoAlloc = 1 });
        var t = ne.Length switch
        {
            1 => _g.NewTensor1d(ctx, type, ne[0]),
            2 => _g.NewTensor2d(ctx, type, ne[0], ne[1]),
            _ => _g.NewTensor3d(ctx, type, ne[0], ne[1], ne[2]),
        };
        var bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* n = bytes) { _g.SetName(t, n); }
        return (ctx, t);
    }

    /// <summary>The CPU device's <c>CPU_REPACK</c> buffer type, through the registry's <c>ggml_backend_dev_get_extra_bufts</c>; zero when absent.</summary>
    private static IntPtr FindRepackBuffer(GgmlApi g)
    {
        var reg = g.CpuReg();
        var dev = g.RegDevGet(reg, 0);
        var fnName = "ggml_backend_dev_get_extra_bufts\0"u8;
        IntPtr fn;
        fixed (byte* n = fnName) { fn = g.RegGetProcAddress(reg, n); }
        if (fn == IntPtr.Zero || dev == IntPtr.Zero)
        {
            return IntPtr.Zero;
        }

        var list = ((delegate* unmanaged<IntPtr, IntPtr*>)fn)(dev);
        for (int i = 0; list != null && list[i] != IntPtr.Zero; i++)
        {
            if (Marshal.PtrToStringUTF8(g.BuftName(list[i])) == "CPU_REPACK")
            {
                return list[i];
            }
        }

        return IntPtr.Zero;
    }

    public void Dispose()
    {
        foreach (var (ctx, buffer) in _parts)
        {
            _g.BufferFree(buffer);
            _g.Free(ctx);
        }

        _parts.Clear();
    }
}
