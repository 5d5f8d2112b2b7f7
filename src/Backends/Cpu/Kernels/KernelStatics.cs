using System.Runtime.CompilerServices;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// Initialises the classes whose static fields the kernels read, before any kernel is compiled. A
/// kernel compiled (on its first call) while such a class is still uninitialised gets a
/// class-initialisation helper call in its loops, and around that call the register allocator keeps
/// the accumulators in memory: the FMA and 256-bit VNNI FP4 kernels compiled that way (and the fp8
/// panel kernels with UE8M0 scales ran 4x slower until they decoded scales with
/// <see cref="Accel.Types.NumericFormats.UE8M0ToF32"/> instead of a table). Initialised first,
/// their static readonly fields compile as constants.
/// </summary>
internal static class KernelStatics
{
    /// <summary>Runs the static initialisers of every class the kernels read statics of (idempotent, cheap after the first call).</summary>
    public static void Prepare()
    {
        RuntimeHelpers.RunClassConstructor(typeof(DecodeTables).TypeHandle);
        RuntimeHelpers.RunClassConstructor(typeof(Fp4Format).TypeHandle);
        RuntimeHelpers.RunClassConstructor(typeof(Fp4Kernel).TypeHandle);
        RuntimeHelpers.RunClassConstructor(typeof(Fp4VnniKernel).TypeHandle);
        RuntimeHelpers.RunClassConstructor(typeof(Fp4Panels).TypeHandle);
    }
}
