namespace Accel.Backends.Cpu.Kernels;

/// <summary>A compile-time row count for the register-tiled kernels (the JIT removes the unused rows); the FP4 VNNI kernels also take one as their count of activation terms.</summary>
internal interface IRowCount
{
    /// <summary>Rows of X the kernel handles.</summary>
    static abstract int Count { get; }
}

#pragma warning disable CS1591
internal readonly struct R1 : IRowCount { public static int Count => 1; }
internal readonly struct R2 : IRowCount { public static int Count => 2; }
internal readonly struct R3 : IRowCount { public static int Count => 3; }
internal readonly struct R4 : IRowCount { public static int Count => 4; }
internal readonly struct R5 : IRowCount { public static int Count => 5; }
internal readonly struct R6 : IRowCount { public static int Count => 6; }
internal readonly struct R7 : IRowCount { public static int Count => 7; }
internal readonly struct R8 : IRowCount { public static int Count => 8; }
internal readonly struct R9 : IRowCount { public static int Count => 9; }
internal readonly struct R10 : IRowCount { public static int Count => 10; }
internal readonly struct R11 : IRowCount { public static int Count => 11; }
internal readonly struct R12 : IRowCount { public static int Count => 12; }
#pragma warning restore CS1591
