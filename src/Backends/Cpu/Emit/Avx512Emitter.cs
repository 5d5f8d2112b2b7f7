namespace Accel.Backends.Cpu.Emit;

/// <summary>
/// Writes x86-64 machine code for the emitted AVX-512 kernels (AVX512-BF16, AVX512-VNNI FP4): the
/// EVEX-encoded zmm/ymm/xmm forms they need (loads, <c>vdpbf16ps</c>, <c>vpdpbusd</c> and the integer
/// and conversion ops around it, the horizontal-sum shuffles, a 128-bit store) and a few 64-bit
/// integer instructions (mov, add, push/pop, dec, jnz, prefetch). Registers are hardware
/// numbers: rax 0 ... r15 15, zmm0-zmm31. Memory operands are <c>[base + index + disp]</c>
/// (scale 1), or <c>[base + disp]</c> when the index is <see cref="NoIndex"/>; displacements are
/// always written as disp32 (or none when zero), so no compressed disp8 scaling is involved.
/// </summary>
internal sealed partial class Avx512Emitter : X86Code
{
    public const int Rax = 0, Rcx = 1, Rdx = 2, Rbx = 3, Rsp = 4, Rbp = 5, Rsi = 6, Rdi = 7;
    public const int R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

    /// <summary>Index value meaning "no index register".</summary>
    public const int NoIndex = -1;

    /// <summary>Vector length: 128, 256 or 512 bits (EVEX.L'L 0, 1, 2).</summary>
    public enum Width { X128 = 0, Y256 = 1, Z512 = 2 }

    private const int Map0F = 1, Map0F38 = 2, Map0F3A = 3;
    private const int PpNone = 0, Pp66 = 1, PpF3 = 2, PpF2 = 3;

    /// <summary>
    /// The four-byte EVEX prefix (no masking, no broadcast). <paramref name="x"/> is the rm/index
    /// extension: bit 3 of the index for memory operands, bit 4 of rm for register operands.
    /// </summary>
    private void Evex(int map, int pp, int w, Width width, int reg, int vvvv, int x, int b)
    {
        Byte(0x62);
        Byte(((~reg & 8) << 4) | ((~x & 1) << 6) | ((~b & 8) << 2) | ((~reg & 16)) | map);
        Byte((w << 7) | ((~vvvv & 15) << 3) | 4 | pp);
        Byte(((int)width << 5) | ((~vvvv & 16) >> 1));
    }

    /// <summary>An instruction with register operands: <c>op reg, vvvv, rm</c>.</summary>
    private void VecRR(int map, int pp, int w, Width width, int opcode, int reg, int vvvv, int rm)
    {
        Check(reg, vvvv, rm);
        Evex(map, pp, w, width, reg, vvvv, rm >> 4, rm);
        Byte(opcode);
        Byte(0xC0 | ((reg & 7) << 3) | (rm & 7));
    }

    /// <summary>An instruction with a memory operand: <c>op reg, vvvv, [base + index + disp]</c>.</summary>
    private void VecRM(
        int map, int pp, int w, Width width, int opcode, int reg, int vvvv, int baseReg, int index, int disp)
    {
        Check(reg, vvvv, 0);
        Evex(map, pp, w, width, reg, vvvv, index == NoIndex ? 0 : index >> 3, baseReg);
        Byte(opcode);
        Address(reg, baseReg, index, disp);
    }

    private static void Check(int reg, int vvvv, int rm)
    {
        if ((uint)reg > 31 || (uint)vvvv > 31 || (uint)rm > 31)
        {
            throw new ArgumentOutOfRangeException(nameof(reg), "vector registers are zmm0-zmm31");
        }
    }

    /// <summary>ModRM (+ SIB) (+ disp32) for <c>[base + index + disp]</c>, reg field <paramref name="reg"/>.</summary>
    private void Address(int reg, int baseReg, int index, int disp)
    {
        if ((uint)baseReg > 15 || index is < NoIndex or > 15)
        {
            throw new ArgumentOutOfRangeException(nameof(baseReg), "general registers are 0-15");
        }

        if (index == Rsp)
        {
            throw new ArgumentException("rsp cannot be an index register");
        }

        // mod 00 without displacement, except rbp/r13 bases whose mod-00 form means RIP/disp32.
        int mod = disp == 0 && (baseReg & 7) != Rbp ? 0x00 : 0x80;
        if (index == NoIndex && (baseReg & 7) != Rsp)
        {
            Byte(mod | ((reg & 7) << 3) | (baseReg & 7));
        }
        else
        {
            // SIB: scale 1; index 100 (no index) when none (rsp/r12 bases need the SIB byte).
            Byte(mod | ((reg & 7) << 3) | 0x04);
            Byte(((index == NoIndex ? 4 : index & 7) << 3) | (baseReg & 7));
        }

        if (mod == 0x80) { Int32(disp); }
    }

    /// <summary><c>vmovdqu16 zmm, [base + index + disp]</c> (512-bit load, no alignment needed).</summary>
    public void LoadDqu16(int zmm, int baseReg, int index, int disp) =>
        VecRM(Map0F, PpF2, 1, Width.Z512, 0x6F, zmm, 0, baseReg, index, disp);

    /// <summary><c>vmovups [base + index + disp], xmm</c> (128-bit store).</summary>
    public void StoreUpsX(int baseReg, int index, int disp, int xmm) =>
        VecRM(Map0F, PpNone, 0, Width.X128, 0x11, xmm, 0, baseReg, index, disp);

    /// <summary>
    /// <c>vdpbf16ps acc, a, b</c> (zmm): acc.fp32[i] += a.bf16[2i] * b.bf16[2i] + a.bf16[2i+1] * b.bf16[2i+1].
    /// </summary>
    public void Dpbf16ps(int acc, int a, int b) => VecRR(Map0F38, PpF3, 0, Width.Z512, 0x52, acc, a, b);

    /// <summary><c>vpxord dst, a, b</c> (zmm; with dst = a = b, zeroes dst).</summary>
    public void Pxord(int dst, int a, int b) => VecRR(Map0F, Pp66, 0, Width.Z512, 0xEF, dst, a, b);

    /// <summary><c>vaddps dst, a, b</c> at the given width.</summary>
    public void Addps(Width width, int dst, int a, int b) => VecRR(Map0F, PpNone, 0, width, 0x58, dst, a, b);

    /// <summary><c>vunpcklps dst, a, b</c> (zmm).</summary>
    public void Unpcklps(int dst, int a, int b) => VecRR(Map0F, PpNone, 0, Width.Z512, 0x14, dst, a, b);

    /// <summary><c>vunpckhps dst, a, b</c> (zmm).</summary>
    public void Unpckhps(int dst, int a, int b) => VecRR(Map0F, PpNone, 0, Width.Z512, 0x15, dst, a, b);

    /// <summary><c>vunpcklpd dst, a, b</c> (zmm).</summary>
    public void Unpcklpd(int dst, int a, int b) => VecRR(Map0F, Pp66, 1, Width.Z512, 0x14, dst, a, b);

    /// <summary><c>vunpckhpd dst, a, b</c> (zmm).</summary>
    public void Unpckhpd(int dst, int a, int b) => VecRR(Map0F, Pp66, 1, Width.Z512, 0x15, dst, a, b);

    /// <summary><c>vextractf64x4 ymm_dst, zmm_src, 1</c>: the upper 256 bits.</summary>
    public void ExtractUpper256(int dst, int src)
    {
        VecRR(Map0F3A, Pp66, 1, Width.Z512, 0x1B, src, 0, dst);
        Byte(1);
    }

    /// <summary><c>vextractf32x4 xmm_dst, ymm_src, 1</c>: the upper 128 bits of a ymm.</summary>
    public void ExtractUpper128(int dst, int src)
    {
        VecRR(Map0F3A, Pp66, 0, Width.Y256, 0x19, src, 0, dst);
        Byte(1);
    }

    /// <summary><c>vzeroupper</c> (VEX: clears the upper state before returning to SSE code).</summary>
    public void Vzeroupper()
    {
        Byte(0xC5);
        Byte(0xF8);
        Byte(0x77);
    }
}
