namespace Accel.Backends.Cpu.Amx;

/// <summary>
/// Writes x86-64 machine code for the AMX micro-kernel (System V calling convention, one argument:
/// a pointer to <see cref="AmxArgs"/>). Only the handful of instruction forms the kernel needs are
/// encoded here: VEX-encoded tile instructions with SIB addressing, and 64-bit mov/add/dec/jnz.
/// Register numbers are the hardware ones (rax 0 ... r15 15); tile registers are tmm0-tmm7.
/// </summary>
internal sealed class AmxEmitter : Emit.X86Code
{
    public const int Rax = 0, Rcx = 1, Rdx = 2, Rsi = 6, Rdi = 7, R8 = 8, R9 = 9, R10 = 10, R11 = 11;

    /// <summary>Three-byte VEX prefix for map 0F38, W0, L0: <paramref name="pp"/> 0 none, 1 66, 2 F3, 3 F2.</summary>
    private void Vex(int r, int x, int b, int vvvv, int pp)
    {
        Byte(0xC4);
        Byte(((~r & 8) << 4) | ((~x & 8) << 3) | ((~b & 8) << 2) | 0x02);
        Byte(((~vvvv & 0xF) << 3) | pp);
    }

    /// <summary>ModRM + SIB + disp32 for [base + index + disp] (scale 1).</summary>
    private void Sib(int reg, int index, int baseReg, int disp)
    {
        if ((index & 7) == 4 && index < 8) { throw new ArgumentException("rsp cannot be an index register"); }

        Byte(0x80 | ((reg & 7) << 3) | 0x04);
        Byte(((index & 7) << 3) | (baseReg & 7));
        Int32(disp);
    }

    /// <summary><c>mov dst, [base + disp8]</c> (64-bit).</summary>
    public void Load64(int dst, int baseReg, int disp)
    {
        if ((baseReg & 7) is 4 or 5) { throw new ArgumentException("base needs SIB or RIP form"); }

        Byte(0x48 | ((dst & 8) >> 1) | ((baseReg & 8) >> 3));
        Byte(0x8B);
        Byte(0x40 | ((dst & 7) << 3) | (baseReg & 7));
        Byte(disp);
    }


    /// <summary><c>ldtilecfg [reg]</c>.</summary>
    public void LdTileCfg(int reg)
    {
        if ((reg & 7) is 4 or 5) { throw new ArgumentException("register needs SIB or RIP form"); }

        Vex(0, 0, reg, 0, 0);
        Byte(0x49);
        Byte(reg & 7);
    }

    /// <summary><c>tilerelease</c>.</summary>
    public void TileRelease()
    {
        Vex(0, 0, 0, 0, 0);
        Byte(0x49);
        Byte(0xC0);
    }

    /// <summary><c>tilezero tmm</c>.</summary>
    public void TileZero(int tmm)
    {
        Vex(0, 0, 0, 0, 3);
        Byte(0x49);
        Byte(0xC0 | (tmm << 3));
    }

    /// <summary><c>tileloadd tmm, [base + stride + disp]</c>.</summary>
    public void TileLoad(int tmm, int baseReg, int stride, int disp)
    {
        Vex(0, stride, baseReg, 0, 3);
        Byte(0x4B);
        Sib(tmm, stride, baseReg, disp);
    }

    /// <summary><c>tilestored [base + stride + disp], tmm</c>.</summary>
    public void TileStore(int tmm, int baseReg, int stride, int disp)
    {
        Vex(0, stride, baseReg, 0, 2);
        Byte(0x4B);
        Sib(tmm, stride, baseReg, disp);
    }

    /// <summary><c>tdpbf16ps acc, a, b</c>: acc (fp32) += a (bf16 rows) * b (bf16 pairs).</summary>
    public void Tdpbf16ps(int acc, int a, int b)
    {
        Vex(0, 0, 0, b, 2);
        Byte(0x5C);
        Byte(0xC0 | (acc << 3) | a);
    }
}
