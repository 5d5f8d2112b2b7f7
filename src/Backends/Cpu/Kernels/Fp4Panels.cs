using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// Expands 16 consecutive rows of a row-major FP4 weight (e2m1 codes, UE8M0 1x32 scales) into one
/// fp32 panel in the <see cref="PanelLayout"/> order ([k][16]), so that a prefill tile decodes its
/// weights once and then runs the fp32 panel kernel over all its rows. Per 8 columns: gathers
/// of a dword from each of the 16 rows, then per column a shift, a 16-entry table lookup
/// (<c>vpermps</c>, which reads only the low 4 bits of each index), the multiply by the rows'
/// block scales and one 64-byte store. The values are exact (an e2m1 value times a power of two);
/// scale codes must be 1-254 (<see cref="WeightMatrix.FastScales"/>).
/// </summary>
internal static unsafe class Fp4Panels
{
    /// <summary>Bytes of the fp32 panel of <paramref name="k"/> columns.</summary>
    public static long Bytes(int k) => (long)k * PanelLayout.Width * sizeof(float);

    /// <summary>Whether a weight can be expanded: k a whole number of 32-column blocks, AVX-512 present.</summary>
    public static bool Fits(int k) => k > 0 && k % 32 == 0 && Avx512F.IsSupported;

    /// <summary>The dwords at base + offsets[i] (rows 0-7) and base + half + offsets[i] (rows 8-15), two 256-bit gathers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Gather16(int* source, Vector256<int> offsets, int half) =>
        Vector512.Create(Avx2.GatherVector256(source, offsets, 1), Avx2.GatherVector256((int*)((byte*)source + half), offsets, 1));

    /// <summary>
    /// Writes rows n0 .. n0+15 of expert <paramref name="e"/> of <paramref name="w"/> (FP4,
    /// row-major) to <paramref name="panel"/> (<see cref="Bytes"/>): panel[k * 16 + j] = W[n0 + j, k].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Expand(in WeightMatrix w, int e, int n0, float* panel)
    {
        int k = w.In, blocks = k / 32;
        byte* rows = w.Row(e, n0);
        byte* scales = w.ScaleRow(e, n0);
        var lanes = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var rowOffsets = lanes * (int)w.RowBytes;
        var scaleOffsets = lanes * blocks;
        if (w.Quads)
        {
            // Row j's first chunk: its group of four rows, then its place in the group.
            var group = lanes >>> 2;
            var place = lanes & Vector256.Create(3);
            rowOffsets = group * (4 * (int)w.RowBytes) + place * QuadLayout.CodeChunk;
            scaleOffsets = group * (4 * blocks) + place * QuadLayout.ScaleChunk;
        }

        int rowsHalf = 8 * (int)w.RowBytes, scalesHalf = 8 * blocks;
        var low = Vector512.Create(0xFF);
        for (int b = 0; b < blocks; b++)
        {
            // Block b is quarter b % 4 of chunk b / 4 (row-major: 16 code bytes and one scale each).
            int codeAt = w.Quads ? b / 4 * 4 * QuadLayout.CodeChunk + b % 4 * 16 : 16 * b;
            int scaleAt = w.Quads ? b / 4 * 4 * QuadLayout.ScaleChunk + b % 4 : b;

            // The 16 rows' scale codes for this block as 2^(code - 127).
            var codes = Gather16((int*)(scales + scaleAt), scaleOffsets, scalesHalf) & low;
            var scale = Avx512F.ShiftLeftLogical(codes, 23).AsSingle();
            for (int g = 0; g < 4; g++)
            {
                // Columns 32b + 8g .. +7: four bytes of each row, two columns per byte (low nibble first).
                var v = Gather16((int*)(rows + codeAt + 4 * g), rowOffsets, rowsHalf);
                float* dst = panel + (32 * b + 8 * g) * PanelLayout.Width;
                for (int c = 0; c < 8; c++, v = Vector512.ShiftRightLogical(v, 4))
                {
                    (Avx512F.PermuteVar16x32(ConstantVectors.E2M1, v) * scale).Store(dst + c * PanelLayout.Width);
                }
            }
        }
    }
}
