using Accel.Types;

namespace Accel.Peers;

/// <summary>
/// Accel's FP4 routed-expert storage to ggml's <c>block_mxfp4</c>, bit for bit. Accel stores a row
/// of <c>in</c> e2m1 codes two per byte (even column in the low nibble) and one UE8M0 byte per 32
/// columns. ggml's block holds the same 32 columns as one E8M0 byte <c>e</c> followed by 16 bytes
/// <c>qs</c>, where <c>qs[j]</c> carries column j in its low nibble and column j + 16 in its high
/// nibble. The values agree without re-quantising: ggml decodes a nibble with a table of twice the
/// e2m1 values {0, 1, 2, 3, 4, 6, 8, 12} (bit 3 the sign) times half the scale, 2^(e - 128),
/// which is e2m1 times 2^(e - 127) exactly, for every e below 255 (Accel's NaN code).
/// </summary>
internal static class Mxfp4
{
    /// <summary>Columns per block.</summary>
    public const int Block = 32;

    /// <summary>Bytes per block (scale byte + 16 packed bytes).</summary>
    public const int BlockBytes = 17;

    /// <summary>Converts expert <paramref name="expert"/> ([rows, cols]) into <paramref name="destination"/> (rows x cols/32 blocks).</summary>
    public static void Convert(ReadOnlySpan<byte> packed, ReadOnlySpan<byte> scales, long expert, long rows, long cols, Span<byte> destination)
    {
        if (cols % Block != 0)
        {
            throw new InvalidOperationException($"MXFP4 needs rows of whole 32-column blocks; this weight has {cols} columns.");
        }

        long blocksPerRow = cols / Block;
        for (long r = 0; r < rows; r++)
        {
            long row = expert * rows + r;
            var src = packed.Slice(checked((int)(row * cols / 2)), (int)(cols / 2));
            var srcScales = scales.Slice(checked((int)(row * blocksPerRow)), (int)blocksPerRow);
            var dst = destination.Slice((int)(r * blocksPerRow * BlockBytes), (int)(blocksPerRow * BlockBytes));
            for (int b = 0; b < blocksPerRow; b++)
            {
                var block = dst.Slice(b * BlockBytes, BlockBytes);
                block[0] = srcScales[b];
                var codes = src.Slice(b * Block / 2, Block / 2);
                for (int j = 0; j < Block / 2; j++)
                {
                    block[1 + j] = (byte)(Nibble(codes, j) | (Nibble(codes, j + Block / 2) << 4));
                }
            }
        }
    }

    /// <summary>
    /// Decodes <paramref name="rowsToCheck"/> rows of a converted weight (<paramref name="converted"/>) through ggml's own
    /// <c>to_float</c> and compares every value with Accel's decoder, bit for bit (e2m1 code 8,
    /// negative zero, decodes to +0 in ggml's int8 table; both zeros count as equal). Returns the
    /// number of values compared; throws on the first difference.
    /// </summary>
    public static long Check(GgmlApi api, byte[] converted, HostTensor weight, HostTensor scale, IEnumerable<(long Expert, long Row)> rowsToCheck)
    {
        long experts = weight.Shape[0], rows = weight.Shape[1], cols = weight.Shape[2];
        long rowBytes = cols / Block * BlockBytes;
        var view = new WeightView(weight.ReadOnlyBytes, weight.Type, scale.ReadOnlyBytes, scale.Type, experts, rows, cols);
        var expected = new float[cols];
        long compared = 0;
        foreach (var (e, r) in rowsToCheck)
        {
            var bytes = converted.AsSpan(checked((int)((e * rows + r) * rowBytes)), (int)rowBytes);
            var actual = GgmlLayout.ToFloat(api, GgmlType.MXFP4, bytes, (int)cols);
            view.DequantRow(e, r, expected);
            for (int c = 0; c < cols; c++)
            {
                bool same = BitConverter.SingleToInt32Bits(actual[c]) == BitConverter.SingleToInt32Bits(expected[c])
                    || (actual[c] == 0 && expected[c] == 0);
                if (!same)
                {
                    throw new InvalidOperationException(
                        $"MXFP4 conversion is not exact: expert {e} row {r} column {c} decodes to {actual[c]:R} in ggml but {expected[c]:R} in Accel.");
                }
            }

            compared += cols;
        }

        return compared;
    }

    private static int Nibble(ReadOnlySpan<byte> codes, int column) => (codes[column >> 1] >> ((column & 1) * 4)) & 0xF;
}
