using System.Runtime.InteropServices;
using Accel.Backends.Cpu.Emit;

namespace Accel.Backends.Cpu.Bf16;

/// <summary>The argument block of a BF16 kernel call (field offsets are part of the emitted code).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Bf16Args
{
    /// <summary>The four weight rows: bf16, <see cref="Blocks"/> * 32 values each.</summary>
    public byte* W0, W1, W2, W3;

    /// <summary>The high bf16 parts of activation rows 0-3 (rows past the kernel's count are unused).</summary>
    public ushort* Hi0, Hi1, Hi2, Hi3;

    /// <summary>The low bf16 parts of activation rows 0-3.</summary>
    public ushort* Lo0, Lo1, Lo2, Lo3;

    /// <summary>Input-dimension blocks of 32 (at least 1).</summary>
    public long Blocks;

    /// <summary>Output: rows * 4 floats, tile[r * 4 + n].</summary>
    public float* Tile;
}

/// <summary>
/// The machine code of the BF16 kernel for 1-4 activation rows against 4 weight rows. Per block
/// of 32 inputs: four 64-byte weight loads (zmm16-19), a hi and a lo load per activation row
/// (zmm20-27), and two <c>vdpbf16ps</c> per (row, weight row); then a transpose-and-add
/// reduction per row (zmm28-31) and one 16-byte store. With 1-2 rows the hi and lo products go
/// to separate accumulators (two independent dependency chains per output), added at the end;
/// the one-row kernel also takes two blocks per iteration into two sets of accumulators, since
/// its 8 chains would otherwise wait on the latency of <c>vdpbf16ps</c> (about 6 cycles).
/// </summary>
internal static class Bf16Code
{
    private const int OffW = 0, OffHi = 32, OffLo = 64, OffBlocks = 96, OffTile = 104;

    private static readonly int[] WeightRegs = [Avx512Emitter.Rdx, Avx512Emitter.Rsi, Avx512Emitter.R8, Avx512Emitter.R9];
    private static readonly int[] HiRegs = [Avx512Emitter.R10, Avx512Emitter.Rbx, Avx512Emitter.R12, Avx512Emitter.R14];
    private static readonly int[] LoRegs = [Avx512Emitter.R11, Avx512Emitter.Rbp, Avx512Emitter.R13, Avx512Emitter.R15];

    /// <summary>
    /// Writes the kernel for <paramref name="rows"/> rows, prefetching the weight rows
    /// <paramref name="prefetch"/> bytes ahead (0: none).
    /// </summary>
    public static byte[] Emit(int rows, int prefetch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, 4);
        ArgumentOutOfRangeException.ThrowIfNegative(prefetch);
        bool split = rows <= 2;
        var e = new Avx512Emitter();

        // Callee-saved registers (System V) holding activation pointers of rows 1-3.
        var saved = new List<int>();
        for (int r = 1; r < rows; r++) { saved.Add(HiRegs[r]); saved.Add(LoRegs[r]); }
        foreach (int reg in saved) { e.Push(reg); }

        for (int n = 0; n < 4; n++) { e.Load64(WeightRegs[n], Avx512Emitter.Rdi, OffW + 8 * n); }
        for (int r = 0; r < rows; r++)
        {
            e.Load64(HiRegs[r], Avx512Emitter.Rdi, OffHi + 8 * r);
            e.Load64(LoRegs[r], Avx512Emitter.Rdi, OffLo + 8 * r);
        }

        e.Load64(Avx512Emitter.Rcx, Avx512Emitter.Rdi, OffBlocks);
        e.Zero(Avx512Emitter.Rax);
        for (int a = 0; a < (split ? 16 : 4 * rows); a++) { e.Pxord(a, a, a); }

        if (rows == 1)
        {
            // Two blocks per iteration into two accumulator sets (16 dependency chains, half as
            // long); an odd first block goes alone.
            e.TestCl1();
            int even = e.JzForward();
            Block(e, rows, 0, 0, prefetch);
            e.AddImm(Avx512Emitter.Rax, 64);
            e.Bind(even);
            e.Shr1(Avx512Emitter.Rcx);
            int none = e.JzForward();
            int pairs = e.Position;
            Block(e, rows, 0, 0, prefetch);
            Block(e, rows, 1, 64, prefetch);
            e.AddImm(Avx512Emitter.Rax, 128);
            e.Dec(Avx512Emitter.Rcx);
            e.Jnz(pairs);
            e.Bind(none);
            for (int a = 0; a < 4; a++)
            {
                e.Addps(Avx512Emitter.Width.Z512, a, a, a + 4);
                e.Addps(Avx512Emitter.Width.Z512, a + 8, a + 8, a + 12);
            }
        }
        else
        {
            int loop = e.Position;
            Block(e, rows, 0, 0, prefetch);
            e.AddImm(Avx512Emitter.Rax, 64);
            e.Dec(Avx512Emitter.Rcx);
            e.Jnz(loop);
        }

        if (split)
        {
            for (int a = 0; a < 4 * rows; a++) { e.Addps(Avx512Emitter.Width.Z512, a, a, a + 8); }
        }

        e.Load64(Avx512Emitter.Rcx, Avx512Emitter.Rdi, OffTile);
        for (int r = 0; r < rows; r++) { e.StoreSums4(4 * r, Avx512Emitter.Rcx, 16 * r); }

        e.Vzeroupper();
        for (int i = saved.Count - 1; i >= 0; i--) { e.Pop(saved[i]); }
        e.Ret();
        return e.ToArray();
    }

    /// <summary>
    /// One block of 32 inputs at [rax + disp] into accumulator set <paramref name="set"/> (1: the
    /// second set of the one-row kernel: weights zmm24-27, activations zmm22-23, sums zmm4-7, 12-15).
    /// </summary>
    private static void Block(Avx512Emitter e, int rows, int set, int disp, int prefetch)
    {
        int weights = set == 0 ? 16 : 24;
        for (int n = 0; n < 4; n++)
        {
            e.LoadDqu16(weights + n, WeightRegs[n], Avx512Emitter.Rax, disp);
            if (prefetch > 0) { e.Prefetch0(WeightRegs[n], Avx512Emitter.Rax, prefetch + disp); }
        }

        for (int r = 0; r < rows; r++)
        {
            int hi = 20 + 2 * (r + set), lo = hi + 1;
            e.LoadDqu16(hi, HiRegs[r], Avx512Emitter.Rax, disp);
            e.LoadDqu16(lo, LoRegs[r], Avx512Emitter.Rax, disp);
            for (int n = 0; n < 4; n++)
            {
                int acc = 4 * (r + set) + n;
                e.Dpbf16ps(acc, hi, weights + n);
                e.Dpbf16ps(rows <= 2 ? acc + 8 : acc, lo, weights + n);
            }
        }
    }
}
