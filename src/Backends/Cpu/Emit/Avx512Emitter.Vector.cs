namespace Accel.Backends.Cpu.Emit;

/// <summary>The 512-bit integer, conversion and fused multiply-add instructions (FP4 VNNI kernel).</summary>
internal sealed partial class Avx512Emitter
{
    /// <summary><c>vpandd dst, a, b</c> (zmm).</summary>
    public void Pandd(int dst, int a, int b) => VecRR(Map0F, Pp66, 0, Width.Z512, 0xDB, dst, a, b);

    /// <summary><c>vpaddd dst, a, b</c> (zmm).</summary>
    public void Paddd(int dst, int a, int b) => VecRR(Map0F, Pp66, 0, Width.Z512, 0xFE, dst, a, b);

    /// <summary><c>vpsrlw dst, src, imm8</c> (zmm; each 16-bit lane shifted right).</summary>
    public void Psrlw(int dst, int src, int imm)
    {
        VecRR(Map0F, Pp66, 0, Width.Z512, 0x71, 2, dst, src);
        Byte(imm);
    }

    /// <summary><c>vpslld dst, src, imm8</c> (zmm; each 32-bit lane shifted left).</summary>
    public void Pslld(int dst, int src, int imm)
    {
        VecRR(Map0F, Pp66, 0, Width.Z512, 0x72, 6, dst, src);
        Byte(imm);
    }

    /// <summary><c>vpshufb dst, table, indices</c> (zmm; a byte lookup within each 128-bit lane).</summary>
    public void Pshufb(int dst, int table, int indices) => VecRR(Map0F38, Pp66, 0, Width.Z512, 0x00, dst, table, indices);

    /// <summary>
    /// <c>vpermb dst, indices, table</c> (zmm, AVX512_VBMI): each byte of dst is the byte of
    /// <paramref name="table"/> that the low six bits of the same byte of <paramref name="indices"/> name.
    /// </summary>
    public void Vpermb(int dst, int indices, int table) => VecRR(Map0F38, Pp66, 0, Width.Z512, 0x8D, dst, indices, table);

    /// <summary><c>vpbroadcastd dst, dword [base + index + disp]</c> (zmm).</summary>
    public void Pbroadcastd(int dst, int baseReg, int index, int disp) =>
        VecRM(Map0F38, Pp66, 0, Width.Z512, 0x58, dst, 0, baseReg, index, disp);

    /// <summary>
    /// <c>vpdpbusd acc, u, [base + index + disp]</c> (zmm, AVX512-VNNI): each int32 lane of acc
    /// adds the four products of unsigned bytes of <paramref name="u"/> and signed bytes in memory.
    /// </summary>
    public void Pdpbusd(int acc, int u, int baseReg, int index, int disp) =>
        VecRM(Map0F38, Pp66, 0, Width.Z512, 0x50, acc, u, baseReg, index, disp);

    /// <summary><c>vpdpbusd acc, u, s</c> (zmm, AVX512-VNNI; register form of <see cref="Pdpbusd"/>).</summary>
    public void PdpbusdR(int acc, int u, int s) => VecRR(Map0F38, Pp66, 0, Width.Z512, 0x50, acc, u, s);

    /// <summary><c>vmovdqa32 dst, src</c> (zmm register copy).</summary>
    public void Movdqa32(int dst, int src) => VecRR(Map0F, Pp66, 0, Width.Z512, 0x6F, dst, 0, src);

    /// <summary><c>vmulps dst, a, b</c> (zmm).</summary>
    public void MulpsR(int dst, int a, int b) => VecRR(Map0F, PpNone, 0, Width.Z512, 0x59, dst, a, b);

    /// <summary><c>vcvtdq2ps dst, src</c> (zmm; int32 to fp32, rounded to nearest).</summary>
    public void Cvtdq2ps(int dst, int src) => VecRR(Map0F, PpNone, 0, Width.Z512, 0x5B, dst, 0, src);

    /// <summary><c>vmulps dst, a, [base + index + disp]</c> (zmm).</summary>
    public void Mulps(int dst, int a, int baseReg, int index, int disp) =>
        VecRM(Map0F, PpNone, 0, Width.Z512, 0x59, dst, a, baseReg, index, disp);

    /// <summary><c>vfmadd231ps acc, a, b</c> (zmm): acc += a * b.</summary>
    public void Fmadd231ps(int acc, int a, int b) => VecRR(Map0F38, Pp66, 0, Width.Z512, 0xB8, acc, a, b);

    /// <summary>
    /// Stores the horizontal sums of zmm[first .. first+3] as four floats at [tile + disp], using
    /// zmm28-zmm31 as scratch (the inputs are left as they were unless among those).
    /// </summary>
    public void StoreSums4(int first, int tile, int disp)
    {
        const int Ab = 28, T = 29, U = 30, Cd = 31;
        int a = first, b = first + 1, c = first + 2, d = first + 3;

        // Per 128-bit lane: (a0+a2, b0+b2, a1+a3, b1+b3), the same for c, d, then the 64-bit
        // interleave gives (a, b, c, d) partial sums; fold 512 -> 256 -> 128 bits.
        Unpcklps(T, a, b);
        Unpckhps(U, a, b);
        Addps(Width.Z512, Ab, T, U);
        Unpcklps(T, c, d);
        Unpckhps(U, c, d);
        Addps(Width.Z512, Cd, T, U);
        Unpcklpd(T, Ab, Cd);
        Unpckhpd(U, Ab, Cd);
        Addps(Width.Z512, Ab, T, U);
        ExtractUpper256(T, Ab);
        Addps(Width.Y256, Ab, Ab, T);
        ExtractUpper128(T, Ab);
        Addps(Width.X128, Ab, Ab, T);
        StoreUpsX(tile, NoIndex, disp, Ab);
    }
}
