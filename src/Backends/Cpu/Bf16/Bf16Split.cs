using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Accel.Types;

namespace Accel.Backends.Cpu.Bf16;

/// <summary>
/// Splits fp32 activations into two bf16 parts for <see cref="Bf16Kernel"/>: hi = x rounded to
/// bf16 (nearest, ties to even), lo = (x - hi) rounded the same way. x - hi is exact in fp32 and
/// at most 2^-8 |x|, and lo is within 2^-8 |x - hi| of it, so |x - hi - lo| ≤ 2^-16 |x| (for
/// normal lo; parts below 2^-126 are flushed by the kernel). Inputs must be finite and below the
/// largest bf16 (about 3.39e38), which NaN/Inf checks upstream and activation ranges guarantee.
/// </summary>
internal static unsafe class Bf16Split
{
    /// <summary>Writes hi[i], lo[i] for x[0 .. k).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SplitRow(float* x, ushort* hi, ushort* lo, int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 32 <= k; i += 32)
            {
                var (h0, l0) = Split16(Vector512.Load(x + i));
                var (h1, l1) = Split16(Vector512.Load(x + i + 16));
                Vector512.Narrow(h0, h1).Store(hi + i);
                Vector512.Narrow(l0, l1).Store(lo + i);
            }
        }

        for (; i < k; i++)
        {
            ushort h = NumericFormats.F32ToBF16(x[i]);
            hi[i] = h;
            lo[i] = NumericFormats.F32ToBF16(x[i] - NumericFormats.BF16ToF32(h));
        }
    }

    /// <summary>hi and lo of 16 values, each bf16 in the low 16 bits of a 32-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector512<uint> Hi, Vector512<uint> Lo) Split16(Vector512<float> x)
    {
        var hi = Round(x.AsUInt32());
        var rest = x - Vector512.ShiftLeft(hi, 16).AsSingle();
        return (hi, Round(rest.AsUInt32()));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Round(Vector512<uint> bits) =>
        Vector512.ShiftRightLogical(
            bits + Vector512.Create(0x7FFFu) + (Vector512.ShiftRightLogical(bits, 16) & Vector512<uint>.One), 16);
}
