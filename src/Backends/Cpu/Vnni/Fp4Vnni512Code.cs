using System.Runtime.InteropServices;
using Accel.Backends.Cpu.Emit;
using E = Accel.Backends.Cpu.Emit.Avx512Emitter;

namespace Accel.Backends.Cpu.Vnni;

/// <summary>The argument block of a 512-bit FP4 VNNI kernel call (field offsets are part of the emitted code).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct Fp4Vnni512Args
{
    /// <summary>The four weight rows: e2m1 codes, two per byte, <see cref="Chunks"/> * 64 bytes each.</summary>
    public byte* W0, W1, W2, W3;

    /// <summary>The UE8M0 scales of the four rows, one byte per 32 columns.</summary>
    public byte* S0, S1, S2, S3;

    /// <summary>Activation rows 0 and 1 as <see cref="Kernels.Fp4VnniKernel.Quantize"/> writes them with 128-column chunks (row 1 unused by the one-row kernel).</summary>
    public byte* Q0, Q1;

    /// <summary>128-column chunks (at least 1).</summary>
    public long Chunks;

    /// <summary>Output: rows * 4 floats per group, tile[g * rows * 4 + r * 4 + n]; advanced by the kernel.</summary>
    public float* Tile;

    /// <summary>192 bytes: the code table, the nibble mask and the scale spread (<see cref="Fp4Vnni512Kernel"/>).</summary>
    public byte* Constants;

    /// <summary>Groups of four weight rows (at least 1): after each, every weight pointer moves on by <see cref="WeightStep"/> bytes.</summary>
    public long Groups;

    /// <summary>Bytes from one group's weight rows to the next's (the same for the four pointers).</summary>
    public long WeightStep;

    /// <summary>Bytes from one group's scale rows to the next's.</summary>
    public long ScaleStep;

    /// <summary>
    /// The steps after every second group: after each group the kernel swaps <see cref="WeightStep"/>
    /// with this and <see cref="ScaleStep"/> with <see cref="ScaleStep2"/>, so groups may alternate
    /// between two matrices (equal to the first steps for evenly spaced groups).
    /// </summary>
    public long WeightStep2;

    /// <summary>The scale step after every second group (see <see cref="WeightStep2"/>).</summary>
    public long ScaleStep2;
}

/// <summary>
/// The machine code of the FP4 decode kernel on 512-bit <c>vpdpbusd</c> (AVX512-VNNI), for one or
/// two activation rows against groups of four weight rows (a whole tile in one call, so the call
/// and the final sums are paid per group of rows, not per call). Per 128 columns (64 weight bytes) and weight
/// row: the nibbles are split (and, shift, and) and looked up (<c>vpshufb</c>; or shifted once and
/// looked up with <c>vpermb</c> where AVX512_VBMI is present) as doubled e2m1
/// integers plus 12; the four block scales are broadcast and spread to their lanes as powers of
/// two; per activation row two <c>vpdpbusd</c> per int8 term (even and odd columns) take the one
/// to three terms, which are combined as <c>(t1 &lt;&lt; 15) + (t2 &lt;&lt; 7) + t3</c>,
/// <c>(t1 &lt;&lt; 8) + t2</c> or <c>t1</c> (the last starting from the lane corrections),
/// converted and accumulated times the weight scale and the lane scale. The same arithmetic as
/// <see cref="Kernels.Fp4VnniKernel"/>, twice as wide.
/// Registers: accumulators zmm0-7 (4 * row + weight row), constants zmm8-10, the weight row
/// being decoded zmm11-14, the terms zmm15-20, zmm28-31 for the final sums. With one activation
/// row its chunk (terms, lane corrections, lane scales) is loaded once per chunk into zmm18-25 and
/// the four weight rows use it from there: against the memory operands of the two-row form this
/// cuts the loads per chunk and weight row from ten to four, and measured (one thread, 22-bit
/// activations) 29.5 -> 31.9 GB/s from L1, 22.4 -> 30.0 from L2/L3 and 15.6 -> 22.7 from DRAM.
/// The two-group form (one activation row, quad layout) keeps eight accumulators, zmm0-3 for the
/// first group and zmm4-7 for the second, and addresses each group from one base register (rdx and
/// rsi, scales r10 and r11), the rows of a group 64 bytes apart: the held chunk then serves eight
/// weight rows, and two weight regions are read in step (2 threads, cold, a gate/up read of 53.5 MB:
/// 42-43 -> 55-56 GB/s).
/// </summary>
internal static class Fp4Vnni512Code
{
    private const int OffW = 0, OffS = 32, OffQ = 64, OffChunks = 80, OffTile = 88, OffConstants = 96;
    private const int OffGroups = 104, OffWeightStep = 112, OffScaleStep = 120, OffWeightStep2 = 128, OffScaleStep2 = 136;
    private const int Table = 8, Mask = 9, Spread = 10, Bytes = 11, Even = 12, Odd = 13, Scale = 14, Held = 18;

    private static readonly int[] WeightRegs = [E.Rdx, E.Rsi, E.R8, E.R9];
    private static readonly int[] ScaleRegs = [E.R10, E.R11, E.Rbx, E.Rbp];
    private static readonly int[] ActivationRegs = [E.R12, E.R13];

    /// <summary>
    /// Writes the kernel for <paramref name="rows"/> (1 or 2) activation rows held as
    /// <paramref name="terms"/> (1-3) int8 terms, prefetching the weight rows
    /// <paramref name="prefetch"/> bytes ahead (0: none); <paramref name="permute"/> looks the
    /// nibbles up with <c>vpermb</c> (AVX512_VBMI), three instructions per weight chunk instead of five.
    /// With <paramref name="quads"/> a row's next chunk follows four chunks on
    /// (<see cref="Kernels.QuadLayout"/>), else the next 64 bytes. With <paramref name="dual"/> (one
    /// activation row, quads) the groups go two at a time, their chunks decoded side by side in one
    /// loop: the activation chunk is loaded once for eight weight rows instead of four, and the two
    /// groups (a gate group and its up group, or group j and group j + G/2 of one weight) stream
    /// together instead of one after the other. The sums are the same, added in the same order; the group count must be even.
    /// </summary>
    public static byte[] Emit(int rows, int prefetch, int terms = 3, bool permute = false, bool quads = false, bool dual = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(prefetch);
        ArgumentOutOfRangeException.ThrowIfLessThan(terms, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(terms, 3);
        if (dual && (rows != 1 || !quads))
        {
            throw new ArgumentException("The two-group FP4 kernel decodes one activation row against quad-layout weights.", nameof(dual));
        }

        var e = new E();
        int[] saved = rows == 2 ? [E.Rbx, E.Rbp, E.R12, E.R13, E.R14, E.R15] : [E.Rbx, E.Rbp, E.R12, E.R14, E.R15];
        foreach (int reg in saved) { e.Push(reg); }

        if (dual)
        {
            // Quad rows are 64 bytes apart (their scales 4): one base per group, the second group
            // one step after the first.
            e.Load64(E.Rdx, E.Rdi, OffW);
            e.Load64(E.R10, E.Rdi, OffS);
            e.Load64(E.Rsi, E.Rdi, OffW);
            e.AddFromMemory(E.Rsi, E.Rdi, OffWeightStep);
            e.Load64(E.R11, E.Rdi, OffS);
            e.AddFromMemory(E.R11, E.Rdi, OffScaleStep);
        }
        else
        {
            for (int n = 0; n < 4; n++)
            {
                e.Load64(WeightRegs[n], E.Rdi, OffW + 8 * n);
                e.Load64(ScaleRegs[n], E.Rdi, OffS + 8 * n);
            }
        }

        e.Load64(E.R14, E.Rdi, OffConstants);
        e.LoadDqu16(Table, E.R14, E.NoIndex, 0);
        e.LoadDqu16(Mask, E.R14, E.NoIndex, 64);
        e.LoadDqu16(Spread, E.R14, E.NoIndex, 128);
        e.Load64(E.R15, E.Rdi, OffGroups);

        // One group of four weight rows per pass; the chunks of the rows in the inner loop.
        int group = e.Position;
        for (int r = 0; r < rows; r++) { e.Load64(ActivationRegs[r], E.Rdi, OffQ + 8 * r); }
        e.Load64(E.Rcx, E.Rdi, OffChunks);
        e.Zero(E.Rax); // weight byte offset
        e.Zero(E.R14); // scale byte offset
        for (int a = 0; a < (dual ? 8 : 4 * rows); a++) { e.Pxord(a, a, a); }

        int loop = e.Position;
        bool held = rows == 1;
        if (held)
        {
            // One activation row: its chunk (terms, corrections, lane scales) is loaded once into
            // zmm18-25 and used from there by the four weight rows.
            for (int j = 0; j < 2 * terms; j++) { e.LoadDqu16(Held + j, ActivationRegs[0], E.NoIndex, 64 * j); }
            e.LoadDqu16(Held + 6, ActivationRegs[0], E.NoIndex, 384);
            e.LoadDqu16(Held + 7, ActivationRegs[0], E.NoIndex, 448);
        }

        for (int n = 0; n < (dual ? 8 : 4); n++)
        {
            // Two-group form: rows 0-3 of the first group at rdx (scales r10), 4-7 of the second at rsi (r11).
            var (w, wDisp, sc, sDisp) = dual
                ? (n < 4 ? E.Rdx : E.Rsi, 64 * (n % 4), n < 4 ? E.R10 : E.R11, 4 * (n % 4))
                : (WeightRegs[n], 0, ScaleRegs[n], 0);
            WeightRow(e, n, w, wDisp, sc, sDisp, rows, prefetch, terms, held, permute);
        }

        int ways = quads ? Kernels.QuadLayout.Rows : 1;
        e.AddImm(E.Rax, ways * Kernels.QuadLayout.CodeChunk);
        e.AddImm(E.R14, ways * Kernels.QuadLayout.ScaleChunk);
        for (int r = 0; r < rows; r++) { e.AddImm(ActivationRegs[r], 512); }
        e.Dec(E.Rcx);
        e.Jnz(loop);

        // The sums (tile[g * rows * 4 + r * 4 + n]; the two-group form writes group 2i, then 2i + 1).
        e.Load64(E.Rcx, E.Rdi, OffTile);
        int sums = dual ? 2 : rows;
        for (int s = 0; s < sums; s++) { e.StoreSums4(4 * s, E.Rcx, 16 * s); }
        e.AddToMemory(E.Rdi, OffTile, 16 * sums);
        if (dual)
        {
            // Both bases past the pair of groups: both steps.
            foreach (var (reg, first, second) in new[] { (E.Rdx, OffWeightStep, OffWeightStep2), (E.Rsi, OffWeightStep, OffWeightStep2),
                (E.R10, OffScaleStep, OffScaleStep2), (E.R11, OffScaleStep, OffScaleStep2) })
            {
                e.AddFromMemory(reg, E.Rdi, first);
                e.AddFromMemory(reg, E.Rdi, second);
            }

            e.AddImm(E.R15, -2);
        }
        else
        {
            for (int n = 0; n < 4; n++)
            {
                e.AddFromMemory(WeightRegs[n], E.Rdi, OffWeightStep);
                e.AddFromMemory(ScaleRegs[n], E.Rdi, OffScaleStep);
            }

            // The next group takes the other steps (rax and rcx are free until the next group starts).
            foreach (var (first, second) in new[] { (OffWeightStep, OffWeightStep2), (OffScaleStep, OffScaleStep2) })
            {
                e.Load64(E.Rax, E.Rdi, first);
                e.Load64(E.Rcx, E.Rdi, second);
                e.Store64(E.Rdi, first, E.Rcx);
                e.Store64(E.Rdi, second, E.Rax);
            }

            e.Dec(E.R15);
        }

        e.Jnz(group);

        e.Vzeroupper();
        for (int i = saved.Length - 1; i >= 0; i--) { e.Pop(saved[i]); }
        e.Ret();
        return e.ToArray();
    }

    /// <summary>
    /// One 128-column chunk of weight row <paramref name="n"/> (at <paramref name="weights"/> + rax +
    /// <paramref name="weightDisp"/>, its scales at <paramref name="scales"/> + r14 + <paramref name="scaleDisp"/>)
    /// against every activation row, into accumulator 4 * row + n.
    /// </summary>
    private static void WeightRow(E e, int n, int weights, int weightDisp, int scales, int scaleDisp, int rows, int prefetch, int terms, bool held, bool permute)
    {
        e.LoadDqu16(Bytes, weights, E.Rax, weightDisp);
        if (prefetch > 0) { e.Prefetch0(weights, E.Rax, weightDisp + prefetch); }

        if (permute)
        {
            // vpermb reads six index bits and the table repeats every 16 bytes, so the bits above
            // each nibble need no mask.
            e.Vpermb(Even, Bytes, Table);
            e.Psrlw(Odd, Bytes, 4);
            e.Vpermb(Odd, Odd, Table);
        }
        else
        {
            e.Pandd(Even, Bytes, Mask);
            e.Psrlw(Odd, Bytes, 4);
            e.Pandd(Odd, Odd, Mask);
            e.Pshufb(Even, Table, Even);
            e.Pshufb(Odd, Table, Odd);
        }

        e.Pbroadcastd(Scale, scales, E.R14, scaleDisp);
        e.Pshufb(Scale, Scale, Spread);
        e.Pslld(Scale, Scale, 23);
        for (int r = 0; r < rows; r++)
        {
            // Term j (64 even, then 64 odd columns) at 128 * j; the lane corrections at 384 start
            // the last term's sum.
            int q = ActivationRegs[r], t1 = 15 + 3 * r;
            for (int j = 0; j < terms; j++)
            {
                int t = t1 + j;
                if (j == terms - 1 && held) { e.Movdqa32(t, Held + 6); }
                else if (j == terms - 1) { e.LoadDqu16(t, q, E.NoIndex, 384); }
                else { e.Pxord(t, t, t); }

                if (held)
                {
                    e.PdpbusdR(t, Even, Held + 2 * j);
                    e.PdpbusdR(t, Odd, Held + 2 * j + 1);
                }
                else
                {
                    e.Pdpbusd(t, Even, q, E.NoIndex, 128 * j);
                    e.Pdpbusd(t, Odd, q, E.NoIndex, 128 * j + 64);
                }
            }

            if (terms == 3)
            {
                e.Pslld(t1, t1, 15);
                e.Pslld(t1 + 1, t1 + 1, 7);
                e.Paddd(t1, t1, t1 + 1);
                e.Paddd(t1, t1, t1 + 2);
            }
            else if (terms == 2)
            {
                e.Pslld(t1, t1, 8);
                e.Paddd(t1, t1, t1 + 1);
            }

            int t2 = t1 + 1;
            e.Cvtdq2ps(t1, t1);
            if (held) { e.MulpsR(t2, Scale, Held + 7); }
            else { e.Mulps(t2, Scale, q, E.NoIndex, 448); }
            e.Fmadd231ps(4 * r + n, t1, t2);
        }
    }
}
