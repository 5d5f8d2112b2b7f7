using Accel.Types;

namespace Accel.IO;

/// <summary>Maps between safetensors dtype strings and <see cref="DType"/>.</summary>
public static class SafetensorsDTypes
{
    /// <summary>The safetensors dtype strings Accel reads and writes, for error messages.</summary>
    public const string SupportedNames = "F32, F16, BF16, F8_E4M3, F8_E8M0, I8, U8, I32, I64";

    /// <summary>
    /// Parses a safetensors dtype string (case-sensitive, as the format specifies).
    /// Returns false for dtypes Accel does not support (F64, BOOL, F8_E5M2, ...).
    /// </summary>
    public static bool TryParse(string? name, out DType type)
    {
        switch (name)
        {
            case "F32": type = DType.F32; return true;
            case "F16": type = DType.F16; return true;
            case "BF16": type = DType.BF16; return true;
            case "F8_E4M3": type = DType.F8E4M3; return true;
            case "F8_E8M0": type = DType.UE8M0; return true;
            case "I8": type = DType.I8; return true;
            case "U8": type = DType.U8; return true;
            case "I32": type = DType.I32; return true;
            case "I64": type = DType.I64; return true;
            default: type = default; return false;
        }
    }

    /// <summary>
    /// The safetensors dtype string for <paramref name="type"/>, or null when the format has none
    /// (<see cref="DType.F4E2M1"/>: checkpoints store packed fp4 as U8 or I8 bytes).
    /// </summary>
    public static string? ToName(DType type) => type switch
    {
        DType.F32 => "F32",
        DType.F16 => "F16",
        DType.BF16 => "BF16",
        DType.F8E4M3 => "F8_E4M3",
        DType.UE8M0 => "F8_E8M0",
        DType.I8 => "I8",
        DType.U8 => "U8",
        DType.I32 => "I32",
        DType.I64 => "I64",
        _ => null,
    };
}
