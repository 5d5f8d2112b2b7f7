using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Accel.Types;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// How the AVX-512 kernels read 16 consecutive weights of one row, dequantised to fp32 in
/// registers. A row is a pointer to its stored bytes; a scale row points at the scales of that
/// row (fp8: of its 128-row block; fp4: of the row). <see cref="BlockK"/> columns share a scale,
/// which <see cref="Scale"/> turns into the vector that <see cref="Load"/> consumes.
/// </summary>
internal unsafe interface IWeightFormat
{
    /// <summary>Columns sharing one scale (a multiple of 16); unscaled formats use a huge value.</summary>
    static abstract int BlockK { get; }

    /// <summary>The scale operand for the block that starts at column <paramref name="k"/>.</summary>
    static abstract Vector512<float> Scale(byte* scaleRow, int k);

    /// <summary>Weights k .. k+15 of the row as fp32.</summary>
    static abstract Vector512<float> Load(byte* row, int k, Vector512<float> scale);

    /// <summary>Weight k of the row as fp32 (for the column tail).</summary>
    static abstract float Scalar(byte* row, byte* scaleRow, int k);

    /// <summary>Byte offset of column k within a row.</summary>
    static abstract nint Offset(int k);

    /// <summary>
    /// True when <see cref="Load"/> is <see cref="Raw"/> times the scale operand, so a kernel may sum a
    /// block's products unscaled and multiply the sum by the block's scale once (false unless a format says so).
    /// </summary>
    static virtual bool Factored => false;

    /// <summary>Weights k .. k+15 before the scale operand (only where <see cref="Factored"/>).</summary>
    static virtual Vector512<float> Raw(byte* row, int k) =>
        throw new NotSupportedException("only a factored weight format has raw weights apart from its scale");
}

/// <summary>fp32 weights.</summary>
internal readonly unsafe struct F32Format : IWeightFormat
{
    public static nint Offset(int k) => (nint)k * 4;

    public static int BlockK => 1 << 30;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scale(byte* scaleRow, int k) => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* row, int k, Vector512<float> scale) => Vector512.Load((float*)row + k);

    public static float Scalar(byte* row, byte* scaleRow, int k) => ((float*)row)[k];
}

/// <summary>bfloat16 weights: widen to 32 bits and shift into the upper half (exact).</summary>
internal readonly unsafe struct BF16Format : IWeightFormat
{
    public static nint Offset(int k) => (nint)k * 2;

    public static int BlockK => 1 << 30;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scale(byte* scaleRow, int k) => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* row, int k, Vector512<float> scale) =>
        Vector512.ShiftLeft(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)row + k)), 16).AsSingle();

    public static float Scalar(byte* row, byte* scaleRow, int k) => NumericFormats.BF16ToF32(((ushort*)row)[k]);
}

/// <summary>
/// IEEE binary16 weights: exponent and mantissa shifted into fp32 position and rescaled by 2^112
/// (exact, subnormals included); Inf/NaN codes are routed to the portable decoder beforehand.
/// </summary>
internal readonly unsafe struct F16Format : IWeightFormat
{
    public static nint Offset(int k) => (nint)k * 2;

    public static int BlockK => 1 << 30;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scale(byte* scaleRow, int k) => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* row, int k, Vector512<float> scale)
    {
        var h = Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)row + k));
        var magnitude = Vector512.ShiftLeft(h & Vector512.Create(0x7FFFu), 13).AsSingle() * Vector512.Create(5.192296858534828e33f);
        var sign = Vector512.ShiftLeft(h & Vector512.Create(0x8000u), 16);
        return (magnitude.AsUInt32() | sign).AsSingle();
    }

    public static float Scalar(byte* row, byte* scaleRow, int k) => NumericFormats.F16ToF32(((ushort*)row)[k]);
}

/// <summary>
/// FP8 e4m3 with one fp32 scale per 128x128 block. The byte is sign-extended, shifted so that its
/// exponent and mantissa land in the fp32 fields (sign kept), and rescaled by 2^120 (split into
/// two factors of 2^60 so that no scale overflows): exact for every finite code, subnormals
/// included; NaN codes are routed to the portable decoder beforehand.
/// </summary>
internal readonly unsafe struct Fp8F32ScaleFormat : IWeightFormat
{
    public static nint Offset(int k) => k;

    public static int BlockK => 128;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scale(byte* scaleRow, int k) =>
        Vector512.Create(((float*)scaleRow)[k >> 7] * Fp8.TwoPow60);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* row, int k, Vector512<float> scale) => Fp8.Decode(row + k) * scale;

    public static float Scalar(byte* row, byte* scaleRow, int k) =>
        NumericFormats.E4M3ToF32(row[k]) * ((float*)scaleRow)[k >> 7];
}

/// <summary>FP8 e4m3 with one UE8M0 (power-of-two) scale per 128x128 block.</summary>
internal readonly unsafe struct Fp8E8ScaleFormat : IWeightFormat
{
    public static nint Offset(int k) => k;

    public static int BlockK => 128;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scale(byte* scaleRow, int k) =>
        Vector512.Create(NumericFormats.UE8M0ToF32(scaleRow[k >> 7]) * Fp8.TwoPow60);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* row, int k, Vector512<float> scale) => Fp8.Decode(row + k) * scale;

    public static float Scalar(byte* row, byte* scaleRow, int k) =>
        NumericFormats.E4M3ToF32(row[k]) * NumericFormats.UE8M0ToF32(scaleRow[k >> 7]);
}

/// <summary>
/// <see cref="Fp8F32ScaleFormat"/> for activations already multiplied by 2^90 (<see cref="Fp8.XScale"/>):
/// one multiply per 16 weights fewer. The decoded weight is the true one times 2^-90 (2^-120 from the
/// bit move, 2^30 in the scale), so it underflows only below 2^-96 and the activation overflows only above 2^36.
/// </summary>
internal readonly unsafe struct Fp8F32ScaleX90Format : IWeightFormat
{
    public static bool Factored => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Raw(byte* row, int k) => Fp8.Bits(row + k);

    public static nint Offset(int k) => k;

    public static int BlockK => 128;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scale(byte* scaleRow, int k) => Vector512.Create(((float*)scaleRow)[k >> 7] * Fp8.TwoPow30);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* row, int k, Vector512<float> scale) => Fp8.Bits(row + k) * scale;

    public static float Scalar(byte* row, byte* scaleRow, int k) => Fp8F32ScaleFormat.Scalar(row, scaleRow, k) / Fp8.XScale;
}

/// <summary><see cref="Fp8E8ScaleFormat"/> for activations already multiplied by 2^90 (<see cref="Fp8.XScale"/>).</summary>
internal readonly unsafe struct Fp8E8ScaleX90Format : IWeightFormat
{
    public static bool Factored => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Raw(byte* row, int k) => Fp8.Bits(row + k);

    public static nint Offset(int k) => k;

    public static int BlockK => 128;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scale(byte* scaleRow, int k) => Vector512.Create(NumericFormats.UE8M0ToF32(scaleRow[k >> 7]) * Fp8.TwoPow30);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* row, int k, Vector512<float> scale) => Fp8.Bits(row + k) * scale;

    public static float Scalar(byte* row, byte* scaleRow, int k) => Fp8E8ScaleFormat.Scalar(row, scaleRow, k) / Fp8.XScale;
}

/// <summary>The shared fp8 bit manipulation.</summary>
internal static unsafe class Fp8
{
    /// <summary>16 e4m3 codes as fp32 times 2^-60 (the caller multiplies by scale * 2^60).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Decode(byte* p) => Bits(p) * Vector512.Create(Fp8.TwoPow60);

    /// <summary>16 e4m3 codes as fp32 times 2^-120 (sign, exponent and mantissa moved into place; exact, subnormals included).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Bits(byte* p)
    {
        var b = Avx512F.ConvertToVector512Int32(Vector128.Load((sbyte*)p));
        return (Vector512.ShiftLeft(b, 20) & Vector512.Create(unchecked((int)0x87F00000))).AsSingle();
    }

    /// <summary>The factor (2^90) by which activations are pre-multiplied for the one-multiply fp8 decoders.</summary>
    public const float XScale = 1.2379400392853803e27f;

    /// <summary>2^60, used to rescale fp8 bit patterns without overflow.</summary>
    public const float TwoPow60 = 1.152921504606846976e18f;

    /// <summary>2^30, the part of 2^120 that the one-multiply decoders fold into the block scale.</summary>
    public const float TwoPow30 = 1073741824f;

    /// <summary>Largest |x| that may be pre-multiplied by <see cref="XScale"/> (2^36, so x * 2^90 stays below 2^126).</summary>
    public const float XLimit = 68719476736f;

    /// <summary>
    /// Smallest non-zero |x| for the pre-multiplied panel rows (2^-60): the panel decode sums a block's
    /// products before its scale, x * 2^90 * code * 2^-120, which stays a normal fp32 number (above
    /// 2^-99) for every e4m3 code from here up.
    /// </summary>
    public const float XFloor = 8.673617379884035e-19f;
}

/// <summary>
/// FP4 e2m1, two per byte (even column in the low nibble), one UE8M0 scale per 32 columns. The
/// scale operand is the 16-entry decode table already multiplied by the block's scale, so a
/// nibble becomes a weight with one in-register table lookup (vpermps).
/// </summary>
internal readonly unsafe struct Fp4Format : IWeightFormat
{
    public static nint Offset(int k) => k >> 1;

    public static int BlockK => 32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Scale(byte* scaleRow, int k) => ConstantVectors.E2M1 * NumericFormats.UE8M0ToF32(scaleRow[k >> 5]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(byte* row, int k, Vector512<float> scale)
    {
        var bytes = Vector128.CreateScalarUnsafe(*(ulong*)(row + (k >> 1))).AsByte();
        // Each byte twice, then the low nibble from the first copy and the high from the second.
        var pairs = Avx512F.ConvertToVector512UInt32(Ssse3.Shuffle(bytes, Vector128.Create((byte)0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7)));
        var nibbles = Avx512F.ShiftRightLogicalVariable(pairs, Vector512.Create(0u, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4));
        return Avx512F.PermuteVar16x32(scale, nibbles.AsInt32());
    }

    public static float Scalar(byte* row, byte* scaleRow, int k) =>
        NumericFormats.E2M1ToF32(row[k >> 1] >> ((k & 1) * 4)) * NumericFormats.UE8M0ToF32(scaleRow[k >> 5]);
}
