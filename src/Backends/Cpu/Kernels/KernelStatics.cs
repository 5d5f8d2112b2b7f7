using System.Runtime.CompilerServices;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// Initialises every class of this namespace that has static fields (decode tables, constant
/// vectors), before any kernel compiles. A kernel compiled (on its first call) while such a class is
/// still uninitialised gets a class-initialisation helper call in its loops, and around that call the
/// register allocator keeps the accumulators in memory: the FMA and 256-bit VNNI FP4 kernels compiled
/// that way (and the fp8 panel kernels with UE8M0 scales ran 4x slower until they decoded scales with
/// <see cref="Accel.Types.NumericFormats.UE8M0ToF32"/> instead of a table). Initialised first, their
/// static readonly fields compile as constants. Kernels added here are covered without a list.
/// </summary>
internal static class KernelStatics
{
    private static readonly Lock Gate = new();
    private static bool _prepared;

    /// <summary>Runs the static initialisers once per process (later calls return at once).</summary>
    public static void Prepare()
    {
        lock (Gate)
        {
            if (!_prepared)
            {
                InitialiseAll();
                _prepared = true;
            }
        }
    }

    private static void InitialiseAll()
    {
        foreach (var type in typeof(KernelStatics).Assembly.GetTypes())
        {
            if (type.Namespace == typeof(KernelStatics).Namespace && !type.ContainsGenericParameters
                && type.GetFields(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
                    .Any(f => !f.IsLiteral))
            {
                RuntimeHelpers.RunClassConstructor(type.TypeHandle);
            }
        }
    }
}
