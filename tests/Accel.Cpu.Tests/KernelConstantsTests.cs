using System.Reflection;
using System.Runtime.CompilerServices;
using Accel.Backends.Cpu;
using Accel.Backends.Cpu.Kernels;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>
/// The kernels read no static fields (<see cref="ConstantVectors"/> says why), and the constant
/// vectors written as literals agree with the project's decode tables.
/// </summary>
public sealed class KernelConstantsTests
{
    [Test]
    public void No_class_of_the_kernels_namespace_has_a_static_field()
    {
        var offenders = typeof(CpuBackend).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ConstantVectors).Namespace && !t.IsDefined(typeof(CompilerGeneratedAttribute), false))
            .SelectMany(t => t.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                .Where(f => !f.IsLiteral && !f.IsDefined(typeof(CompilerGeneratedAttribute), false))
                .Select(f => $"{t.Name}.{f.Name}"))
            .ToList();
        Assert.That(offenders, Is.Empty,
            "a kernel that reads a static field can compile with a class-init helper call in its loop; write the value as a literal (see ConstantVectors)");
    }

    [Test]
    public void The_e2m1_vector_is_the_decode_table_bit_for_bit()
    {
        var table = NumericFormats.E2M1DecodeTable;
        for (int code = 0; code < 16; code++)
        {
            Assert.That(BitConverter.SingleToInt32Bits(ConstantVectors.E2M1[code]), Is.EqualTo(BitConverter.SingleToInt32Bits(table[code])), $"code {code}");
        }
    }

    [Test]
    public unsafe void The_ue8m0_table_is_the_decoder_bit_for_bit()
    {
        for (int u = 0; u < 256; u++)
        {
            Assert.That(BitConverter.SingleToInt32Bits(ConstantVectors.Ue8m0[u]), Is.EqualTo(BitConverter.SingleToInt32Bits(NumericFormats.UE8M0ToF32((byte)u))), $"code {u}");
        }
    }
}
