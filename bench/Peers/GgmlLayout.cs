using System.Runtime.InteropServices;

namespace Accel.Peers;

/// <summary>The <c>enum ggml_type</c> values the peer uses (ggml.h); checked at load by <see cref="GgmlLayout.Verify"/>.</summary>
internal static class GgmlType
{
    public const int F32 = 0, F16 = 1, Q8_0 = 8, I32 = 26, BF16 = 30, MXFP4 = 39;
}

/// <summary>
/// Checks, once the library is loaded, that the enum values and struct layouts the bindings assume
/// are the ones of this ggml build, and fails with a clear message if not: type names and block
/// sizes, <c>struct ggml_tensor</c>'s ne/nb offsets, <c>struct ggml_type_traits</c> and
/// <c>struct ggml_threadpool_params</c>.
/// </summary>
internal static unsafe class GgmlLayout
{
    /// <summary>Offset of <c>ne[4]</c> in <c>struct ggml_tensor</c> (after the type enum and the buffer pointer).</summary>
    public const int NeOffset = 16;

    /// <summary>Offset of <c>nb[4]</c>.</summary>
    public const int NbOffset = NeOffset + 4 * 8;

    /// <summary>Offset of <c>name[64]</c> (after op, op_params[16], flags, src[10], view_src, view_offs, data).</summary>
    public const int NameOffset = 256;

    /// <summary>Offset of <c>extra</c> (after the name); a repacking buffer puts the tensor's repack traits there.</summary>
    public const int ExtraOffset = NameOffset + 64;

    /// <summary>Offset of <c>n_threads</c> in <c>struct ggml_threadpool_params</c> (after <c>bool cpumask[512]</c>).</summary>
    public const int ThreadpoolThreadsOffset = 512;

    /// <summary>Offset of <c>poll</c> (after n_threads and the priority enum).</summary>
    public const int ThreadpoolPollOffset = 520;

    /// <summary>Bytes reserved for <c>struct ggml_threadpool_params</c> (528 in this layout; rounded up).</summary>
    public const int ThreadpoolParamsBytes = 1024;

    private static readonly (int Type, string Name, long Block, long Size)[] Types =
    [
        (GgmlType.F32, "f32", 1, 4), (GgmlType.F16, "f16", 1, 2), (GgmlType.Q8_0, "q8_0", 32, 34),
        (GgmlType.I32, "i32", 1, 4), (GgmlType.BF16, "bf16", 1, 2), (GgmlType.MXFP4, "mxfp4", 32, 17),
    ];

    /// <summary>ne[i] of a tensor.</summary>
    public static long Ne(IntPtr tensor, int i) => Marshal.ReadInt64(tensor, NeOffset + 8 * i);

    /// <summary>nb[i] (byte stride) of a tensor.</summary>
    public static long Nb(IntPtr tensor, int i) => Marshal.ReadInt64(tensor, NbOffset + 8 * i);

    /// <summary>Runs every check; throws <see cref="InvalidOperationException"/> naming the first mismatch.</summary>
    public static void Verify(GgmlApi api)
    {
        foreach (var (type, name, block, size) in Types)
        {
            string actual = Marshal.PtrToStringUTF8(api.TypeName(type)) ?? "";
            if (actual != name || api.BlckSize(type) != block || (long)api.TypeSize(type) != size)
            {
                throw Mismatch($"enum ggml_type {type} is '{actual}' with blocks of {api.BlckSize(type)} in {api.TypeSize(type)} bytes; expected '{name}', {block}, {size}");
            }
        }

        var ctx = api.Init(new GgmlInitParams { MemSize = 16 * api.TensorOverhead(), NoAlloc = 1 });
        try
        {
            var t = api.NewTensor3d(ctx, GgmlType.F32, 5, 6, 7);
            var probe = "layout-probe\0"u8;
            fixed (byte* n = probe) { api.SetName(t, n); }
            if (Marshal.PtrToStringUTF8(t + NameOffset) != "layout-probe")
            {
                throw Mismatch($"struct ggml_tensor does not hold name[64] at offset {NameOffset}");
            }

            if (Marshal.ReadInt32(t) != GgmlType.F32 || Ne(t, 0) != 5 || Ne(t, 1) != 6 || Ne(t, 2) != 7 || Ne(t, 3) != 1
                || Nb(t, 0) != 4 || Nb(t, 1) != 20 || Nb(t, 2) != 120 || api.Nelements(t) != 210)
            {
                throw Mismatch("struct ggml_tensor does not hold type, ne[4] and nb[4] at offsets 0, 16 and 48");
            }
        }
        finally
        {
            api.Free(ctx);
        }

        var traits = api.GetTypeTraits(GgmlType.MXFP4);
        if (Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(traits, 0)) != "mxfp4" || Marshal.ReadInt64(traits, 8) != 32
            || Marshal.ReadInt64(traits, 24) != 17 || Marshal.ReadByte(traits, 32) != 1 || Marshal.ReadIntPtr(traits, 40) == IntPtr.Zero)
        {
            throw Mismatch("struct ggml_type_traits is not {type_name, blck_size, blck_size_interleave, type_size, is_quantized, to_float, ...}");
        }

        var p = stackalloc byte[ThreadpoolParamsBytes];
        api.ThreadpoolParamsInit(p, 3);
        if (*(int*)(p + ThreadpoolThreadsOffset) != 3 || *(uint*)(p + ThreadpoolPollOffset) > 100)
        {
            throw Mismatch($"struct ggml_threadpool_params does not hold n_threads at offset {ThreadpoolThreadsOffset} and poll (0..100) at {ThreadpoolPollOffset}");
        }
    }

    /// <summary>Converts a block of ggml-format bytes to f32 with the type's own <c>to_float</c>.</summary>
    public static float[] ToFloat(GgmlApi api, int type, ReadOnlySpan<byte> data, int elements)
    {
        var traits = api.GetTypeTraits(type);
        var toFloat = (delegate* unmanaged<void*, float*, long, void>)Marshal.ReadIntPtr(traits, 40);
        var result = new float[elements];
        fixed (byte* src = data)
        fixed (float* dst = result)
        {
            toFloat(src, dst, elements);
        }

        return result;
    }

    private static InvalidOperationException Mismatch(string what) =>
        new($"The ggml library does not match the layout these bindings were written for: {what}. " +
            $"Use the pinned version fetched by {GgmlLibrary.FetchCommand}.");
}
