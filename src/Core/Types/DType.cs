namespace Accel.Types;

/// <summary>Element types Accel knows. Packed and scale formats are element types too.</summary>
public enum DType
{
    /// <summary>IEEE-754 binary32.</summary>
    F32,
    /// <summary>IEEE-754 binary16.</summary>
    F16,
    /// <summary>bfloat16: the upper half of a binary32.</summary>
    BF16,
    /// <summary>Signed 8-bit integer.</summary>
    I8,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8,
    /// <summary>Signed 32-bit integer.</summary>
    I32,
    /// <summary>Signed 64-bit integer.</summary>
    I64,
    /// <summary>FP8 e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits, no infinities, max 448.</summary>
    F8E4M3,
    /// <summary>FP4 e2m1, two values per byte (even index in the low nibble).</summary>
    F4E2M1,
    /// <summary>UE8M0 scale: an unsigned byte u meaning 2^(u-127); 255 is NaN.</summary>
    UE8M0,
}

/// <summary>Sizes, names and classification of <see cref="DType"/> values.</summary>
public static class DTypeInfo
{
    /// <summary>Bits one element occupies (4 for the packed FP4 type).</summary>
    public static int Bits(this DType t) => t switch
    {
        DType.F32 or DType.I32 => 32,
        DType.F16 or DType.BF16 => 16,
        DType.I8 or DType.U8 or DType.F8E4M3 or DType.UE8M0 => 8,
        DType.I64 => 64,
        DType.F4E2M1 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "Unknown dtype."),
    };

    /// <summary>Bytes needed for <paramref name="elements"/> elements (rounded up for packed types).</summary>
    public static long ByteSize(this DType t, long elements) => (elements * t.Bits() + 7) / 8;

    /// <summary>True for the floating-point activation and weight types (not scale formats).</summary>
    public static bool IsFloat(this DType t) =>
        t is DType.F32 or DType.F16 or DType.BF16 or DType.F8E4M3 or DType.F4E2M1;

    /// <summary>True for integer index types.</summary>
    public static bool IsInteger(this DType t) => t is DType.I8 or DType.U8 or DType.I32 or DType.I64;

    /// <summary>Lower-case short name used in ids, CLI flags and profiles (<c>f32</c>, <c>fp8</c>, ...).</summary>
    public static string ShortName(this DType t) => t switch
    {
        DType.F32 => "f32",
        DType.F16 => "f16",
        DType.BF16 => "bf16",
        DType.I8 => "i8",
        DType.U8 => "u8",
        DType.I32 => "i32",
        DType.I64 => "i64",
        DType.F8E4M3 => "f8e4m3",
        DType.F4E2M1 => "f4e2m1",
        DType.UE8M0 => "ue8m0",
        _ => t.ToString(),
    };

    /// <summary>Parses a short name (case-insensitive; <c>fp8</c> and <c>fp4</c> are accepted aliases).</summary>
    public static bool TryParse(string? name, out DType type)
    {
        switch (name?.Trim().ToLowerInvariant())
        {
            case "f32" or "fp32" or "float32": type = DType.F32; return true;
            case "f16" or "fp16" or "float16": type = DType.F16; return true;
            case "bf16" or "bfloat16": type = DType.BF16; return true;
            case "i8" or "int8": type = DType.I8; return true;
            case "u8" or "uint8": type = DType.U8; return true;
            case "i32" or "int32": type = DType.I32; return true;
            case "i64" or "int64": type = DType.I64; return true;
            case "f8e4m3" or "fp8" or "e4m3" or "f8_e4m3": type = DType.F8E4M3; return true;
            case "f4e2m1" or "fp4" or "e2m1": type = DType.F4E2M1; return true;
            case "ue8m0" or "e8m0": type = DType.UE8M0; return true;
            default: type = default; return false;
        }
    }

    /// <summary>All names <see cref="TryParse"/> accepts, for error messages.</summary>
    public const string KnownNames = "f32, f16, bf16, i8, u8, i32, i64, f8e4m3 (fp8), f4e2m1 (fp4), ue8m0";
}

/// <summary>A set of dtypes as flags, so that records holding it compare by value.</summary>
[Flags]
public enum DTypeSet
{
    /// <summary>No dtype.</summary>
    None = 0,
    /// <summary><see cref="DType.F32"/>.</summary>
    F32 = 1 << DType.F32,
    /// <summary><see cref="DType.F16"/>.</summary>
    F16 = 1 << DType.F16,
    /// <summary><see cref="DType.BF16"/>.</summary>
    BF16 = 1 << DType.BF16,
    /// <summary><see cref="DType.I8"/>.</summary>
    I8 = 1 << DType.I8,
    /// <summary><see cref="DType.U8"/>.</summary>
    U8 = 1 << DType.U8,
    /// <summary><see cref="DType.I32"/>.</summary>
    I32 = 1 << DType.I32,
    /// <summary><see cref="DType.I64"/>.</summary>
    I64 = 1 << DType.I64,
    /// <summary><see cref="DType.F8E4M3"/>.</summary>
    F8E4M3 = 1 << DType.F8E4M3,
    /// <summary><see cref="DType.F4E2M1"/>.</summary>
    F4E2M1 = 1 << DType.F4E2M1,
    /// <summary><see cref="DType.UE8M0"/>.</summary>
    UE8M0 = 1 << DType.UE8M0,
    /// <summary>Every dtype.</summary>
    All = F32 | F16 | BF16 | I8 | U8 | I32 | I64 | F8E4M3 | F4E2M1 | UE8M0,
}

/// <summary>Helpers for <see cref="DTypeSet"/>.</summary>
public static class DTypeSetExtensions
{
    /// <summary>True when <paramref name="type"/> is in the set.</summary>
    public static bool Contains(this DTypeSet set, DType type) => (set & Of(type)) != 0;

    /// <summary>The single-element set of <paramref name="type"/>.</summary>
    public static DTypeSet Of(DType type) => (DTypeSet)(1 << (int)type);
}
