using System.Runtime.InteropServices;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// The CPU backend's FP4 decode layout: each group of four consecutive weight rows is stored
/// chunk-interleaved, chunk c of rows 4g .. 4g+3 side by side, so that the 512-bit VNNI kernel,
/// which decodes four rows at once, reads one stream instead of four (and of the scales, one
/// instead of four). Codes move in 64-byte chunks (128 e2m1 columns), their UE8M0 scales in the
/// matching 4-byte chunks. Row n's chunk c starts at <c>group(n) + c * 4 * chunk + (n % 4) * chunk</c>.
/// Only FP4 weights the 512-bit kernel decodes are rewritten (<see cref="Eligible"/>); a group
/// keeps its bytes, so the rewrite is in place.
/// </summary>
internal static unsafe class QuadLayout
{
    /// <summary>Rows per interleaved group.</summary>
    public const int Rows = 4;

    /// <summary>Bytes of one row's chunk of e2m1 codes (128 columns).</summary>
    public const int CodeChunk = 64;

    /// <summary>Bytes of one row's chunk of scales (the four 32-column blocks of a code chunk).</summary>
    public const int ScaleChunk = 4;

    /// <summary>
    /// Whether an FP4 weight of this shape can take the layout: whole 128-column chunks and output
    /// columns in whole 16-column panels (so that prefill tiles expand whole groups).
    /// </summary>
    public static bool Eligible(WeightFormat format, int outDim, int inDim) =>
        format == WeightFormat.Fp4 && outDim > 0 && outDim % PanelLayout.Width == 0 && inDim > 0 && inDim % 128 == 0;

    /// <summary>Byte offset of row <paramref name="n"/>'s first chunk from the start of its matrix.</summary>
    public static long RowOffset(int n, long rowBytes, int chunk) => (long)(n / Rows) * Rows * rowBytes + n % Rows * chunk;

    /// <summary>
    /// Rewrites <paramref name="rows"/> rows of <paramref name="rowBytes"/> bytes (a multiple of
    /// <paramref name="chunk"/>, rows a multiple of four) at <paramref name="data"/> into groups, in place.
    /// </summary>
    public static void Pack(byte* data, long rows, long rowBytes, int chunk) => Convert(data, data, rows, rowBytes, chunk, toQuads: true);

    /// <summary>Rewrites groups at <paramref name="data"/> back into rows, in place.</summary>
    public static void Unpack(byte* data, long rows, long rowBytes, int chunk) => Convert(data, data, rows, rowBytes, chunk, toQuads: false);

    /// <summary>Writes the row-major form of the groups at <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static void UnpackTo(byte* source, byte* destination, long rows, long rowBytes, int chunk) =>
        Convert(source, destination, rows, rowBytes, chunk, toQuads: false);

    /// <summary>Copies row <paramref name="n"/> of the grouped matrix at <paramref name="matrix"/> into <paramref name="row"/> (rowBytes bytes).</summary>
    public static void GatherRow(byte* matrix, int n, long rowBytes, int chunk, byte* row)
    {
        byte* first = matrix + RowOffset(n, rowBytes, chunk);
        for (long c = 0; c < rowBytes / chunk; c++)
        {
            Buffer.MemoryCopy(first + c * Rows * chunk, row + c * chunk, chunk, chunk);
        }
    }

    private static void Convert(byte* source, byte* destination, long rows, long rowBytes, int chunk, bool toQuads)
    {
        if (rows % Rows != 0 || rowBytes % chunk != 0)
        {
            throw new ArgumentException($"{rows} rows of {rowBytes} bytes cannot be grouped by {Rows} rows of {chunk}-byte chunks.");
        }

        long group = Rows * rowBytes, chunks = rowBytes / chunk;
        byte* copy = (byte*)NativeMemory.AlignedAlloc((nuint)group, 64);
        try
        {
            for (long g = 0; g < rows / Rows; g++)
            {
                Buffer.MemoryCopy(source + g * group, copy, group, group);
                byte* dst = destination + g * group;
                for (int j = 0; j < Rows; j++)
                {
                    for (long c = 0; c < chunks; c++)
                    {
                        long rowMajor = j * rowBytes + c * chunk, grouped = (c * Rows + j) * chunk;
                        Buffer.MemoryCopy(copy + (toQuads ? rowMajor : grouped), dst + (toQuads ? grouped : rowMajor), chunk, chunk);
                    }
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(copy);
        }
    }
}
