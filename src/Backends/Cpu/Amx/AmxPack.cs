using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Accel.Backends.Cpu.Kernels;

namespace Accel.Backends.Cpu.Amx;

/// <summary>
/// Operand layouts of <see cref="AmxKernel"/>. An fp32 value x is split into bf16 parts by
/// truncation: x1 keeps the top 8 significant bits, x2 the next 8 of the remainder, x3 the rest,
/// so x = x1 + x2 + x3 exactly for normal numbers. Infinities and NaN keep x1 = x and zero
/// remainders, so they still make the result non-finite; where both operands are split, an
/// infinity can come out as NaN rather than as an infinity (inf times a zero part).
/// </summary>
internal static unsafe class AmxPack
{
    /// <summary>Bytes of one tile: 16 rows of 64 bytes.</summary>
    public const int TileBytes = 16 * 64;

    /// <summary>Bytes of one weight part of a 32-wide input block: the tiles of both output columns.</summary>
    public const int PartBytes = 2 * TileBytes;

    /// <summary>Bytes between two split activation rows of input size <paramref name="k"/> (three parts plus a cache line, against set conflicts).</summary>
    public static long RowBytes(int k) => 6L * k + 64;

    /// <summary>Writes the three bf16 parts of <paramref name="k"/> floats (k a multiple of 16) at dst, dst + 2k and dst + 4k bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SplitRow(float* x, byte* dst, int k)
    {
        ushort* p1 = (ushort*)dst, p2 = p1 + k, p3 = p2 + k;
        for (int i = 0; i < k; i += 16)
        {
            Split(Vector512.Load(x + i), out var s1, out var s2, out var s3);
            High(s1).Store(p1 + i);
            High(s2).Store(p2 + i);
            High(s3).Store(p3 + i);
        }
    }

    /// <summary>
    /// Expands one 16-column panel (k-major, <see cref="PanelLayout"/>) of fp32 or FP8 weights,
    /// dequantised to fp32 as the AVX-512 kernels do and split into three bf16 parts, into the
    /// kernel's weight tiles for output tile <paramref name="column"/> (0 or 1): per 32-wide input
    /// block, part s at <c>block * 3 * PartBytes + s * PartBytes + column * TileBytes</c>, rows holding pairs of
    /// consecutive inputs interleaved per column (the VNNI order TDPBF16PS reads).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ExpandSplit<TF>(byte* panel, byte* scaleRow, int k, byte* dst, int column)
        where TF : struct, IWeightFormat
    {
        nint step = TF.Offset(16);
        for (int kb = 0; kb < k; kb += 32)
        {
            var scale = TF.Scale(scaleRow, kb);
            byte* block = dst + (kb / 32) * 3 * PartBytes + column * TileBytes;
            byte* row = panel + kb * step;
            for (int r = 0; r < 16; r++, row += 2 * step)
            {
                Split(TF.Load(row, 0, scale), out var e1, out var e2, out var e3);
                Split(TF.Load(row + step, 0, scale), out var o1, out var o2, out var o3);
                Pair(e1, o1).Store((uint*)(block + r * 64));
                Pair(e2, o2).Store((uint*)(block + PartBytes + r * 64));
                Pair(e3, o3).Store((uint*)(block + 2 * PartBytes + r * 64));
            }
        }
    }

    /// <summary>As <see cref="ExpandSplit"/> for a bf16 panel, which needs no split: one part, per block at <c>block * PartBytes + column * TileBytes</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ExpandBF16(ushort* panel, int k, byte* dst, int column)
    {
        for (int kb = 0; kb < k; kb += 32)
        {
            byte* block = dst + (kb / 32) * PartBytes + column * TileBytes;
            for (int r = 0; r < 16; r++)
            {
                ushort* row = panel + (long)(kb + 2 * r) * 16;
                var even = Avx512F.ConvertToVector512UInt32(Vector256.Load(row));
                var odd = Avx512F.ConvertToVector512UInt32(Vector256.Load(row + 16));
                (even | (odd << 16)).Store((uint*)(block + r * 64));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Split(Vector512<float> v, out Vector512<uint> s1, out Vector512<uint> s2, out Vector512<uint> s3)
    {
        var mask = Vector512.Create(0xFFFF0000u);
        var bits = v.AsUInt32();
        var finite = Vector512.Equals(v - v, Vector512<float>.Zero);
        // NaN payloads may sit in the low bits: give the leading part a quiet NaN.
        var nan = ~Vector512.Equals(v, v).AsUInt32();
        s1 = Vector512.ConditionalSelect(nan, Vector512.Create(0x7FC00000u), bits & mask);
        var r1 = Vector512.ConditionalSelect(finite, v - s1.AsSingle(), Vector512<float>.Zero);
        s2 = r1.AsUInt32() & mask;
        var r2 = r1 - s2.AsSingle();
        s3 = r2.AsUInt32() & mask;
    }

    /// <summary>The high halves of 16 lanes as 16 bf16 values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ushort> High(Vector512<uint> s) => Avx512F.ConvertToVector256UInt16(s >> 16);

    /// <summary>Lane c: bf16 of the even input in the low half, of the odd input in the high half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Pair(Vector512<uint> even, Vector512<uint> odd) => (even >> 16) | odd;
}
