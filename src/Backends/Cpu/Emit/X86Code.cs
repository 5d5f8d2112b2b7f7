namespace Accel.Backends.Cpu.Emit;

/// <summary>
/// The machine-code buffer the emitted kernels (AMX, AVX512-BF16) share, with the few 64-bit
/// integer and control instructions whose encoding does not depend on the kernel: <c>add reg, imm32</c>,
/// <c>dec reg</c>, <c>jnz rel32</c> and <c>ret</c>. Register numbers are the hardware ones (rax 0 ... r15 15).
/// </summary>
internal abstract class X86Code
{
    private readonly List<byte> _code = [];

    /// <summary>The bytes written so far.</summary>
    public byte[] ToArray() => [.. _code];

    /// <summary>Current offset (a branch target).</summary>
    public int Position => _code.Count;

    /// <summary>Appends one byte.</summary>
    protected void Byte(int b) => _code.Add((byte)b);

    /// <summary>Appends a little-endian 32-bit value.</summary>
    protected void Int32(int v)
    {
        for (int i = 0; i < 4; i++) { Byte(v >> (8 * i)); }
    }

    /// <summary>Overwrites the 32-bit value that ends at <paramref name="end"/> (a forward jump's displacement).</summary>
    protected void PatchInt32(int end, int v)
    {
        for (int i = 0; i < 4; i++) { _code[end - 4 + i] = (byte)(v >> (8 * i)); }
    }

    /// <summary><c>add reg, imm32</c> (64-bit).</summary>
    public void AddImm(int reg, int imm)
    {
        Byte(0x48 | ((reg & 8) >> 3));
        Byte(0x81);
        Byte(0xC0 | (reg & 7));
        Int32(imm);
    }

    /// <summary><c>dec reg</c> (64-bit).</summary>
    public void Dec(int reg)
    {
        Byte(0x48 | ((reg & 8) >> 3));
        Byte(0xFF);
        Byte(0xC8 | (reg & 7));
    }

    /// <summary><c>jnz target</c> (rel32).</summary>
    public void Jnz(int target)
    {
        Byte(0x0F);
        Byte(0x85);
        Int32(target - (Position + 4));
    }

    /// <summary><c>ret</c>.</summary>
    public void Ret() => Byte(0xC3);
}
