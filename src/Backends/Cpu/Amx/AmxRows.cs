using System.Runtime.CompilerServices;
using Accel.Backends.Cpu.Kernels;

namespace Accel.Backends.Cpu.Amx;

/// <summary>
/// The activations of an AMX product: blocks of 16 rows (one tile), each row split into its three
/// bf16 parts (<see cref="AmxPack.SplitRow"/>) with stride <see cref="AmxPack.RowBytes"/>; rows of
/// a block past the segment's end are zero.
/// </summary>
internal sealed unsafe class AmxRows : PackedRows
{
    /// <summary>Rows per tile.</summary>
    public const int TileRows = 16;

    public override int BlockRows => TileRows;

    /// <summary>Bytes between rows.</summary>
    public long Lda => AmxPack.RowBytes(K);

    /// <summary>The packed data of block <paramref name="index"/>.</summary>
    public byte* Block(int index) => Data(index);

    protected override long BlockBytes(int rows) => TileRows * Lda;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Pack(int row, int n, byte* dst)
    {
        long lda = Lda;
        for (int r = 0; r < n; r++)
        {
            AmxPack.SplitRow(X + (nint)(row + r) * Ldx, dst + r * lda, K);
        }

        new Span<byte>(dst + n * lda, (int)((TileRows - n) * lda)).Clear();
    }
}
