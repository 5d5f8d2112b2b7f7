using Accel.Backends.Cpu.Bf16;
using E = Accel.Backends.Cpu.Emit.Avx512Emitter;

namespace Accel.Cpu.Tests;

/// <summary>
/// The AVX-512 emitter's instruction encodings against bytes from GNU as 2.x (displacements forced to
/// disp32 with <c>{disp32}</c> where the emitter writes disp32), each also read back with
/// <c>objdump -D -b binary -m i386:x86-64 -M intel</c> to the listed instruction.
/// </summary>
public sealed class Avx512EmitterTests
{
    private static readonly (string Asm, Action<E> Emit, string Hex)[] Cases =
    [
        ("vmovdqu16 zmm16, [rdx+rax]", e => e.LoadDqu16(16, E.Rdx, E.Rax, 0), "62 e1 ff 48 6f 04 02"),
        ("vmovdqu16 zmm27, [r15+rax]", e => e.LoadDqu16(27, E.R15, E.Rax, 0), "62 41 ff 48 6f 1c 07"),
        ("vmovdqu16 zmm21, [rbp+rax+0]", e => e.LoadDqu16(21, E.Rbp, E.Rax, 0), "62 e1 ff 48 6f ac 05 00 00 00 00"),
        ("vmovdqu16 zmm22, [r13+rax+0]", e => e.LoadDqu16(22, E.R13, E.Rax, 0), "62 c1 ff 48 6f b4 05 00 00 00 00"),
        ("vmovdqu16 zmm23, [r12+rax]", e => e.LoadDqu16(23, E.R12, E.Rax, 0), "62 c1 ff 48 6f 3c 04"),
        ("vmovdqu16 zmm3, [r9+r11+0x100]", e => e.LoadDqu16(3, E.R9, E.R11, 0x100), "62 91 ff 48 6f 9c 19 00 01 00 00"),
        ("vmovups [rcx+0x30], xmm28", e => e.StoreUpsX(E.Rcx, E.NoIndex, 0x30, 28), "62 61 7c 08 11 a1 30 00 00 00"),
        ("vmovups [rcx], xmm28", e => e.StoreUpsX(E.Rcx, E.NoIndex, 0, 28), "62 61 7c 08 11 21"),
        ("vmovups [r12], xmm5", e => e.StoreUpsX(E.R12, E.NoIndex, 0, 5), "62 d1 7c 08 11 2c 24"),
        ("vdpbf16ps zmm0, zmm20, zmm16", e => e.Dpbf16ps(0, 20, 16), "62 b2 5e 40 52 c0"),
        ("vdpbf16ps zmm15, zmm27, zmm19", e => e.Dpbf16ps(15, 27, 19), "62 32 26 40 52 fb"),
        ("vdpbf16ps zmm9, zmm21, zmm17", e => e.Dpbf16ps(9, 21, 17), "62 32 56 40 52 c9"),
        ("vpxord zmm7, zmm7, zmm7", e => e.Pxord(7, 7, 7), "62 f1 45 48 ef ff"),
        ("vpxord zmm15, zmm15, zmm15", e => e.Pxord(15, 15, 15), "62 51 05 48 ef ff"),
        ("vaddps zmm3, zmm3, zmm11", e => e.Addps(E.Width.Z512, 3, 3, 11), "62 d1 64 48 58 db"),
        ("vaddps ymm28, ymm28, ymm29", e => e.Addps(E.Width.Y256, 28, 28, 29), "62 01 1c 20 58 e5"),
        ("vaddps xmm28, xmm28, xmm29", e => e.Addps(E.Width.X128, 28, 28, 29), "62 01 1c 00 58 e5"),
        ("vaddps zmm28, zmm29, zmm30", e => e.Addps(E.Width.Z512, 28, 29, 30), "62 01 14 40 58 e6"),
        ("vunpcklps zmm29, zmm12, zmm13", e => e.Unpcklps(29, 12, 13), "62 41 1c 48 14 ed"),
        ("vunpckhps zmm30, zmm14, zmm15", e => e.Unpckhps(30, 14, 15), "62 41 0c 48 15 f7"),
        ("vunpcklpd zmm29, zmm28, zmm31", e => e.Unpcklpd(29, 28, 31), "62 01 9d 40 14 ef"),
        ("vunpckhpd zmm30, zmm28, zmm31", e => e.Unpckhpd(30, 28, 31), "62 01 9d 40 15 f7"),
        ("vextractf64x4 ymm29, zmm28, 1", e => e.ExtractUpper256(29, 28), "62 03 fd 48 1b e5 01"),
        ("vextractf32x4 xmm29, ymm28, 1", e => e.ExtractUpper128(29, 28), "62 03 7d 28 19 e5 01"),
        ("vpandd zmm12, zmm11, zmm9", e => e.Pandd(12, 11, 9), "62 51 25 48 db e1"),
        ("vpandd zmm13, zmm13, zmm9", e => e.Pandd(13, 13, 9), "62 51 15 48 db e9"),
        ("vpaddd zmm15, zmm15, zmm16", e => e.Paddd(15, 15, 16), "62 31 05 48 fe f8"),
        ("vpaddd zmm18, zmm18, zmm20", e => e.Paddd(18, 18, 20), "62 a1 6d 40 fe d4"),
        ("vpsrlw zmm13, zmm11, 4", e => e.Psrlw(13, 11, 4), "62 d1 15 48 71 d3 04"),
        ("vpslld zmm14, zmm14, 23", e => e.Pslld(14, 14, 23), "62 d1 0d 48 72 f6 17"),
        ("vpslld zmm18, zmm18, 15", e => e.Pslld(18, 18, 15), "62 b1 6d 40 72 f2 0f"),
        ("vpshufb zmm12, zmm8, zmm12", e => e.Pshufb(12, 8, 12), "62 52 3d 48 00 e4"),
        ("vpshufb zmm14, zmm14, zmm10", e => e.Pshufb(14, 14, 10), "62 52 0d 48 00 f2"),
        ("vpermb zmm12, zmm11, zmm8", e => e.Vpermb(12, 11, 8), "62 52 25 48 8d e0"),
        ("vpermb zmm20, zmm11, zmm8", e => e.Vpermb(20, 11, 8), "62 c2 25 48 8d e0"),
        ("vpbroadcastd zmm14, [r10+r14]", e => e.Pbroadcastd(14, E.R10, E.R14, 0), "62 12 7d 48 58 34 32"),
        ("vpbroadcastd zmm14, [rbp+r14+0]", e => e.Pbroadcastd(14, E.Rbp, E.R14, 0), "62 32 7d 48 58 b4 35 00 00 00 00"),
        ("vpdpbusd zmm15, zmm12, [r12]", e => e.Pdpbusd(15, 12, E.R12, E.NoIndex, 0), "62 52 1d 48 50 3c 24"),
        ("vpdpbusd zmm16, zmm13, [r12+0xc0]", e => e.Pdpbusd(16, 13, E.R12, E.NoIndex, 0xC0), "62 c2 15 48 50 84 24 c0 00 00 00"),
        ("vpdpbusd zmm20, zmm13, [r13+0x140]", e => e.Pdpbusd(20, 13, E.R13, E.NoIndex, 0x140), "62 c2 15 48 50 a5 40 01 00 00"),
        ("vpdpbusd zmm15, zmm12, zmm18", e => e.PdpbusdR(15, 12, 18), "62 32 1d 48 50 fa"),
        ("vpdpbusd zmm16, zmm13, zmm23", e => e.PdpbusdR(16, 13, 23), "62 a2 15 48 50 c7"),
        ("vmovdqa32 zmm17, zmm24", e => e.Movdqa32(17, 24), "62 81 7d 48 6f c8"),
        ("vmovdqa32 zmm15, zmm24", e => e.Movdqa32(15, 24), "62 11 7d 48 6f f8"),
        ("vmulps zmm16, zmm14, zmm25", e => e.MulpsR(16, 14, 25), "62 81 0c 48 59 c1"),
        ("vmulps zmm2, zmm14, zmm9", e => e.MulpsR(2, 14, 9), "62 d1 0c 48 59 d1"),
        ("vcvtdq2ps zmm15, zmm15", e => e.Cvtdq2ps(15, 15), "62 51 7c 48 5b ff"),
        ("vcvtdq2ps zmm18, zmm18", e => e.Cvtdq2ps(18, 18), "62 a1 7c 48 5b d2"),
        ("vmulps zmm16, zmm14, [r12+0x1c0]", e => e.Mulps(16, 14, E.R12, E.NoIndex, 0x1C0), "62 c1 0c 48 59 84 24 c0 01 00 00"),
        ("vmulps zmm19, zmm14, [r13+0x1c0]", e => e.Mulps(19, 14, E.R13, E.NoIndex, 0x1C0), "62 c1 0c 48 59 9d c0 01 00 00"),
        ("vfmadd231ps zmm3, zmm15, zmm16", e => e.Fmadd231ps(3, 15, 16), "62 b2 05 48 b8 d8"),
        ("vfmadd231ps zmm7, zmm18, zmm19", e => e.Fmadd231ps(7, 18, 19), "62 b2 6d 40 b8 fb"),
        ("vzeroupper", e => e.Vzeroupper(), "c5 f8 77"),
        ("mov rdx, [rdi]", e => e.Load64(E.Rdx, E.Rdi, 0), "48 8b 17"),
        ("mov [rdi+0x80], rcx", e => e.Store64(E.Rdi, 0x80, E.Rcx), "48 89 8f 80 00 00 00"),
        ("mov [rdi+0x88], rax", e => e.Store64(E.Rdi, 0x88, E.Rax), "48 89 87 88 00 00 00"),
        ("mov r15, [rdi+0x58]", e => e.Load64(E.R15, E.Rdi, 0x58), "4c 8b bf 58 00 00 00"),
        ("mov rcx, [rdi+0x68]", e => e.Load64(E.Rcx, E.Rdi, 0x68), "48 8b 8f 68 00 00 00"),
        ("add rdx, [rdi+0x68]", e => e.AddFromMemory(E.Rdx, E.Rdi, 0x68), "48 03 97 68 00 00 00"),
        ("add r10, [rdi+0x70]", e => e.AddFromMemory(E.R10, E.Rdi, 0x70), "4c 03 97 70 00 00 00"),
        ("add rbp, [rdi+0x70]", e => e.AddFromMemory(E.Rbp, E.Rdi, 0x70), "48 03 af 70 00 00 00"),
        ("add qword [rdi+0x58], 0x1000", e => e.AddToMemory(E.Rdi, 0x58, 0x1000), "48 81 87 58 00 00 00 00 10 00 00"),
        ("xor eax, eax", e => e.Zero(E.Rax), "31 c0"),
        ("xor r10d, r10d", e => e.Zero(E.R10), "45 31 d2"),
        ("push rbx", e => e.Push(E.Rbx), "53"),
        ("push r15", e => e.Push(E.R15), "41 57"),
        ("pop r12", e => e.Pop(E.R12), "41 5c"),
        ("pop rbp", e => e.Pop(E.Rbp), "5d"),
        ("add rax, 0x40", e => e.AddImm(E.Rax, 0x40), "48 81 c0 40 00 00 00"),
        ("add r14, 0x100", e => e.AddImm(E.R14, 0x100), "49 81 c6 00 01 00 00"),
        ("dec rcx", e => e.Dec(E.Rcx), "48 ff c9"),
        ("dec r11", e => e.Dec(E.R11), "49 ff cb"),
        ("prefetcht0 [rdx+rax+0x400]", e => e.Prefetch0(E.Rdx, E.Rax, 0x400), "0f 18 8c 02 00 04 00 00"),
        ("prefetcht0 [r9+rax+0x400]", e => e.Prefetch0(E.R9, E.Rax, 0x400), "41 0f 18 8c 01 00 04 00 00"),
        ("jnz <self>", e => e.Jnz(e.Position), "0f 85 fa ff ff ff"),
        ("test cl, 1", e => e.TestCl1(), "f6 c1 01"),
        ("shr rcx, 1", e => e.Shr1(E.Rcx), "48 d1 e9"),
        ("shr r11, 1", e => e.Shr1(E.R11), "49 d1 eb"),
        ("jz <over a ret>", e => { int jump = e.JzForward(); e.Ret(); e.Bind(jump); }, "0f 84 01 00 00 00 c3"),
        ("ret", e => e.Ret(), "c3"),
    ];

    private static IEnumerable<TestCaseData> Encodings() =>
        Cases.Select((c, i) => new TestCaseData(i).SetArgDisplayNames(c.Asm));

    [TestCaseSource(nameof(Encodings))]
    public void EncodesAsTheAssembler(int index)
    {
        var (_, emit, hex) = Cases[index];
        var e = new E();
        emit(e);
        string expected = hex.Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();
        Assert.That(Convert.ToHexString(e.ToArray()), Is.EqualTo(expected));
    }

    [Test]
    public void RejectsOperandsItCannotEncode()
    {
        var e = new E();
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentException>(() => e.LoadDqu16(0, E.Rdx, E.Rsp, 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => e.Dpbf16ps(32, 0, 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => e.LoadDqu16(0, 16, E.Rax, 0));
        });
    }
}
