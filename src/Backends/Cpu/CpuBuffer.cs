using System.Runtime.InteropServices;
using Accel.Types;

namespace Accel.Backends.Cpu;

/// <summary>
/// A buffer of the CPU backend: 64-byte aligned native memory, so kernels use aligned vector loads
/// and the garbage collector never moves or scans it. <see cref="Version"/> changes on every upload,
/// which invalidates facts the backend caches about the contents (see <see cref="WeightFacts"/>).
/// </summary>
internal sealed unsafe class CpuBuffer : IDeviceBuffer
{
    private readonly CpuBackend _owner;
    private byte* _data;

    public CpuBuffer(CpuBackend owner, TensorDesc desc)
    {
        _owner = owner;
        Desc = desc;
        Length = desc.ByteSize;
        _data = HugePages.Allocate(Math.Max(Length, 64));
        NativeMemory.Clear(_data, (nuint)Math.Max(Length, 64));
    }

    ~CpuBuffer() => Free();

    public TensorDesc Desc { get; }

    public IBackend Owner => _owner;

    /// <summary>Bytes held.</summary>
    public long Length { get; }

    /// <summary>Incremented by every upload.</summary>
    public int Version { get; set; }

    /// <summary>Facts about the contents computed once per version (null until asked).</summary>
    public WeightFacts? Facts { get; set; }

    /// <summary>True when the bytes are a weight rewritten into the panel layout (see <c>CpuBackend.Layout</c>).</summary>
    public bool Panels { get; set; }

    /// <summary>
    /// The chunk bytes when the buffer is FP4 codes (64) or scales (4) rewritten into the four-row
    /// interleaved layout (<c>QuadLayout</c>, see <c>CpuBackend.Layout</c>); 0 when row-major.
    /// </summary>
    public int QuadChunk { get; set; }

    /// <summary>Marks the bytes row-major (they were just overwritten: an upload, a node's output).</summary>
    public void ForgetLayout()
    {
        Panels = false;
        QuadChunk = 0;
    }

    /// <summary>The start of the data.</summary>
    public byte* Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(_data == null, this);
            return _data;
        }
    }

    public float* F32 => (float*)Pointer;

    public int* I32 => (int*)Pointer;

    /// <summary>Dimension <paramref name="axis"/> of the shape.</summary>
    public int Dim(int axis) => checked((int)Desc.Shape[axis]);

    public Span<byte> Bytes => new(Pointer, checked((int)Length));

    /// <summary>The data as fp32 values.</summary>
    public Span<float> F32Span => new(Pointer, checked((int)(Length / sizeof(float))));

    /// <summary>The data as int32 values.</summary>
    public Span<int> I32Span => new(Pointer, checked((int)(Length / sizeof(int))));

    public void Dispose()
    {
        if (_data != null)
        {
            Free();
            _owner.Release(this);
            GC.SuppressFinalize(this);
        }
    }

    private void Free()
    {
        if (_data != null)
        {
            HugePages.Free(_data);
            _data = null;
        }
    }
}

/// <summary>
/// Large buffers are aligned to 2 MiB and, on Linux, marked for transparent huge pages, so that
/// streaming hundreds of MB of expert weights does not miss the TLB every 4 KiB.
/// </summary>
internal static unsafe partial class HugePages
{
    private const long Threshold = 4L << 20;
    private const int MadvHugePage = 14;
    private static bool _unavailable = !OperatingSystem.IsLinux();

    public static byte* Allocate(long bytes)
    {
        if (bytes < Threshold)
        {
            return (byte*)NativeMemory.AlignedAlloc((nuint)bytes, 64);
        }

        long rounded = (bytes + (2L << 20) - 1) & ~((2L << 20) - 1);
        byte* p = (byte*)NativeMemory.AlignedAlloc((nuint)rounded, 2 << 20);
        if (!_unavailable)
        {
            try
            {
                _ = Madvise(p, (nuint)rounded, MadvHugePage);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                _unavailable = true;
            }
        }

        return p;
    }

    public static void Free(byte* p) => NativeMemory.AlignedFree(p);

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}

/// <summary>Facts about a weight or scale buffer's values that select a kernel, computed once per version.</summary>
/// <param name="Version">The buffer version they describe.</param>
/// <param name="HasSpecialCodes">A weight holds an fp8 NaN code or an f16 Inf/NaN, so the exact portable decoder must run.</param>
/// <param name="HasSlowScales">A scale buffer holds a scale that keeps the fast decoders off (see WeightMatrix.FastScales).</param>
internal sealed record WeightFacts(int Version, bool HasSpecialCodes, bool HasSlowScales = false);
