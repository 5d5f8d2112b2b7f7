namespace Accel.Backends.Cpu.Emit;

/// <summary>The 64-bit integer and control instructions of the emitted kernels.</summary>
internal sealed partial class Avx512Emitter
{
    private void Rex(int reg, int index, int baseReg) =>
        Byte(0x48 | ((reg & 8) >> 1) | ((index == NoIndex ? 0 : index & 8) >> 2) | ((baseReg & 8) >> 3));

    /// <summary><c>mov dst, [base + disp]</c> (64-bit).</summary>
    public void Load64(int dst, int baseReg, int disp)
    {
        Rex(dst, NoIndex, baseReg);
        Byte(0x8B);
        Address(dst, baseReg, NoIndex, disp);
    }

    /// <summary><c>mov [base + disp], src</c> (64-bit).</summary>
    public void Store64(int baseReg, int disp, int src)
    {
        Rex(src, NoIndex, baseReg);
        Byte(0x89);
        Address(src, baseReg, NoIndex, disp);
    }

    /// <summary><c>add dst, [base + disp]</c> (64-bit).</summary>
    public void AddFromMemory(int dst, int baseReg, int disp)
    {
        Rex(dst, NoIndex, baseReg);
        Byte(0x03);
        Address(dst, baseReg, NoIndex, disp);
    }

    /// <summary><c>add qword [base + disp], imm32</c>.</summary>
    public void AddToMemory(int baseReg, int disp, int imm)
    {
        Rex(0, NoIndex, baseReg);
        Byte(0x81);
        Address(0, baseReg, NoIndex, disp);
        Int32(imm);
    }

    /// <summary><c>xor reg32, reg32</c> (zeroes the full 64-bit register).</summary>
    public void Zero(int reg)
    {
        if (reg >= 8) { Byte(0x45); }
        Byte(0x31);
        Byte(0xC0 | ((reg & 7) << 3) | (reg & 7));
    }

    /// <summary><c>push reg</c>.</summary>
    public void Push(int reg)
    {
        if (reg >= 8) { Byte(0x41); }
        Byte(0x50 | (reg & 7));
    }

    /// <summary><c>pop reg</c>.</summary>
    public void Pop(int reg)
    {
        if (reg >= 8) { Byte(0x41); }
        Byte(0x58 | (reg & 7));
    }

    /// <summary><c>test cl, 1</c> (ZF set when rcx is even).</summary>
    public void TestCl1()
    {
        Byte(0xF6);
        Byte(0xC1);
        Byte(1);
    }

    /// <summary><c>shr reg, 1</c> (64-bit; ZF set when the result is zero).</summary>
    public void Shr1(int reg)
    {
        Rex(0, NoIndex, reg);
        Byte(0xD1);
        Byte(0xE8 | (reg & 7));
    }

    /// <summary><c>jz</c> (rel32) to a label not yet written; returns what <see cref="Bind"/> takes.</summary>
    public int JzForward()
    {
        Byte(0x0F);
        Byte(0x84);
        Int32(0);
        return Position;
    }

    /// <summary>Points the forward jump that ends at <paramref name="jumpEnd"/> at the current position.</summary>
    public void Bind(int jumpEnd)
    {
        int rel = Position - jumpEnd;
        PatchInt32(jumpEnd, rel);
    }

    /// <summary><c>prefetcht0 [base + index + disp]</c>.</summary>
    public void Prefetch0(int baseReg, int index, int disp)
    {
        int rex = ((index == NoIndex ? 0 : index & 8) >> 2) | ((baseReg & 8) >> 3);
        if (rex != 0) { Byte(0x40 | rex); }
        Byte(0x0F);
        Byte(0x18);
        Address(1, baseReg, index, disp);
    }
}
