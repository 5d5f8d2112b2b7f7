using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Accel.Backends.Cpu.Kernels;

internal sealed unsafe partial class GemmJob
{
    /// <summary>
    /// Adds the tiles for rows [m0, m1) of expert e over output columns [0, outDim), choosing the
    /// kernel: the panel kernel when the weights are in panels, the dot kernel otherwise
    /// (<paramref name="nChunk"/> columns and
    /// <paramref name="mChunk"/> rows per tile bound the work of one tile).
    /// </summary>
    public void AddSegment(int expert, int m0, int m1, int outDim, int nChunk, int mChunk)
    {
        if (UsesAmx(m1 - m0))
        {
            AddAmxTiles(expert, m0, m1, outDim, mChunk);
        }
        else if (UsesPanels || UsesFp4Panels(m1 - m0))
        {
            // Row chunks start on block boundaries, so a tile's blocks are consecutive.
            mChunk = Math.Max(PanelKernel.MaxRows, mChunk / PanelKernel.MaxRows * PanelKernel.MaxRows);
            int first = Rows.Add(m0, m1);
            int step = Pair ? PanelLayout.Width : 2 * PanelLayout.Width;
            int panels = outDim / PanelLayout.Width;
            if (SplitPanels && !Pair && m1 - m0 <= 2 && panels % 2 == 0 && panels >= 4)
            {
                // Decode of a single weight: panel j beside panel j + P/2 (see SplitPanels).
                AddSplitTiles(new GemmTask(expert, m0, m1, 0, 0, Panel: true, Block: first), outDim, PanelLayout.Width);
                return;
            }

            for (int n = 0; n < outDim; n += step)
            {
                for (int m = m0; m < m1; m += mChunk)
                {
                    Add(new GemmTask(expert, m, Math.Min(m1, m + mChunk), n, Math.Min(outDim, n + step), Panel: true,
                        Block: first + (m - m0) / PanelKernel.MaxRows));
                }
            }
        }
        else
        {
            if (FarQuads(m1 - m0, outDim))
            {
                // One-row decode of a single FP4 weight in quads: group j beside group j + G/2 (see Fp4TwoGroups).
                AddSplitTiles(new GemmTask(expert, m0, m1, 0, 0), outDim, Math.Max(QuadLayout.Rows, nChunk / QuadLayout.Rows * QuadLayout.Rows));
                return;
            }

            AddTiles(expert, m0, m1, outDim, nChunk, mChunk);
        }
    }

    /// <summary>
    /// Tiles like <paramref name="tile"/> over columns [n, n + width) of the first half of
    /// <paramref name="outDim"/>, each with its partner range at n + outDim / 2 (<see cref="GemmTask.Far"/>).
    /// </summary>
    private void AddSplitTiles(GemmTask tile, int outDim, int width)
    {
        int half = outDim / 2;
        for (int n = 0; n < half; n += width)
        {
            Add(tile with { N0 = n, N1 = Math.Min(half, n + width), Far = n + half });
        }
    }

    /// <summary>
    /// Whether a decode tile of a single weight pairs panel j with panel j + P/2 (P panels per
    /// expert) instead of j + 1, so a thread streams two regions at once (set by the backend).
    /// </summary>
    public bool SplitPanels { get; set; } = true;

    /// <summary>Bytes ahead at which the first row block of a panel tile prefetches its panels (0 = off; set by the backend).</summary>
    public nint PanelPrefetch { get; set; } = 2048;

    /// <summary>The row blocks of the panel tiles, packed by the pool before the tiles run.</summary>
    public RowBlocks Rows { get; } = new();

    /// <summary>Whether the tiles run the panel kernel (weights in panels, AVX-512 path).</summary>
    private bool UsesPanels => !Portable && Gate.Panels && (!Pair || Up.Panels);

    /// <summary>Segment rows from which row-major FP4 tiles expand their weights into fp32 panels (<see cref="Fp4Panels"/>) and run the panel kernel.</summary>
    public int Fp4PanelMinRows { get; set; } = 8;

    /// <summary>Whether the FP4 tiles of a segment of <paramref name="rows"/> rows run on expanded panels.</summary>
    private bool UsesFp4Panels(int rows) =>
        !Portable && rows >= Math.Max(Fp4PanelMinRows, VnniMaxRows + 1) && Gate.Format == WeightFormat.Fp4
        && !Gate.Panels && Fp4Panels.Fits(Gate.In) && Gate.Out % PanelLayout.Width == 0 && Gate.FastScales && (!Pair || Up.FastScales);

    // Per worker: the fp32 panels an FP4 tile expands its weights into.
    private NativeScratch[] _fp4Panels = [];

    /// <summary>
    /// One panel tile: one 16-column panel of the gate and of the up weight (pair mode, SwiGLU in
    /// the epilogue) or two adjacent panels of one weight, against blocks of up to 12 rows of X.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunPanel(GemmTask t, int worker)
    {
        float* tile = stackalloc float[PanelKernel.MaxRows * 2 * PanelLayout.Width];
        bool two = TilePanels(t, out byte* pa, out byte* sa, out byte* pb, out byte* sb);
        if (Gate.Format == WeightFormat.Fp4)
        {
            ExpandFp4(t, worker, two, out pa, out pb);
            sa = sb = null;
        }

        for (int m = t.M0; m < t.M1; m += PanelKernel.MaxRows)
        {
            int rows = Math.Min(PanelKernel.MaxRows, t.M1 - m);
            float* x = Rows.Block(t.Block + (m - t.M0) / PanelKernel.MaxRows);
            nint prefetch = m == t.M0 ? PanelPrefetch : 0;
            bool scaled = Rows.Factor != 1f;
            switch (Gate.Format)
            {
                case WeightFormat.F32 or WeightFormat.Fp4: RunPanelRows<F32Format>(rows, x, pa, pb, sa, sb, tile, prefetch); break;
                case WeightFormat.BF16: RunPanelRows<BF16Format>(rows, x, pa, pb, sa, sb, tile, prefetch); break;
                case WeightFormat.Fp8F32Scale when scaled: RunPanelRows<Fp8F32ScaleX90Format>(rows, x, pa, pb, sa, sb, tile, prefetch); break;
                case WeightFormat.Fp8F32Scale: RunPanelRows<Fp8F32ScaleFormat>(rows, x, pa, pb, sa, sb, tile, prefetch); break;
                case WeightFormat.Fp8E8Scale when scaled: RunPanelRows<Fp8E8ScaleX90Format>(rows, x, pa, pb, sa, sb, tile, prefetch); break;
                default: RunPanelRows<Fp8E8ScaleFormat>(rows, x, pa, pb, sa, sb, tile, prefetch); break;
            }

            StoreTile(tile, m, rows, t.N0, two, t.Far >= 0 ? t.Far : t.N0 + PanelLayout.Width);
        }
    }

    /// <summary>The tile's FP4 rows expanded into fp32 panels in this worker's scratch (the second as <see cref="TilePanels"/> picks it).</summary>
    private void ExpandFp4(in GemmTask t, int worker, bool two, out byte* pa, out byte* pb)
    {
        long bytes = Fp4Panels.Bytes(Gate.In);
        byte* scratch = _fp4Panels[worker].Ensure(2 * bytes);
        pa = scratch;
        Fp4Panels.Expand(Gate, t.Expert, t.N0, (float*)pa);
        pb = Pair || two ? scratch + bytes : pa;
        if (Pair)
        {
            Fp4Panels.Expand(Up, t.Expert, t.N0, (float*)pb);
        }
        else if (two)
        {
            Fp4Panels.Expand(Gate, t.Expert, t.N0 + PanelLayout.Width, (float*)pb);
        }
    }

    /// <summary>
    /// The two panels of a tile and their scale rows: the gate and up panels in pair mode, else
    /// panel N0 and the panel at Far of one weight (a split tile), else two adjacent panels of one
    /// weight (the same panel twice when the tile has only 16 columns).
    /// Returns whether the second panel holds columns of its own.
    /// </summary>
    private bool TilePanels(in GemmTask t, out byte* pa, out byte* sa, out byte* pb, out byte* sb)
    {
        int p = t.N0 / PanelLayout.Width;
        if (t.Far >= 0)
        {
            pa = Gate.Panel(t.Expert, p);
            sa = Gate.ScaleRow(t.Expert, t.N0);
            pb = Gate.Panel(t.Expert, t.Far / PanelLayout.Width);
            sb = Gate.ScaleRow(t.Expert, t.Far);
            return true;
        }

        bool two = !Pair && t.N1 - t.N0 > PanelLayout.Width;
        pa = Gate.Panel(t.Expert, p);
        sa = Gate.ScaleRow(t.Expert, t.N0);
        pb = Pair ? Up.Panel(t.Expert, p) : two ? Gate.Panel(t.Expert, p + 1) : pa;
        sb = Pair ? Up.ScaleRow(t.Expert, t.N0) : two ? Gate.ScaleRow(t.Expert, t.N0 + PanelLayout.Width) : sa;
        return two;
    }

    /// <summary>
    /// Writes rows of a 32-column result tile (<c>tile[r * 32 + j]</c>) to Y at row
    /// <paramref name="m"/>, column <paramref name="n0"/>: SwiGLU of the two halves times the row
    /// factor in pair mode, else the first 16 columns and, with <paramref name="two"/>, the second 16
    /// at column <paramref name="n1"/> (n0 + 16, or the far panel of a split tile).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void StoreTile(float* tile, int m, int rows, int n0, bool two, int n1)
    {
        for (int r = 0; r < rows; r++)
        {
            float* dst = Y + (nint)(m + r) * Ldy + n0;
            var a = Vector512.Load(tile + r * 32);
            var b = Vector512.Load(tile + r * 32 + 16);
            if (Pair)
            {
                (Activation.SwiGlu(a, b, Limit) * ScaleOf(m + r)).Store(dst);
            }
            else
            {
                a.Store(dst);
                if (two)
                {
                    b.Store(Y + (nint)(m + r) * Ldy + n1);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RunPanelRows<TF>(int rows, float* x, byte* pa, byte* pb, byte* sa, byte* sb, float* tile, nint prefetch)
        where TF : struct, IWeightFormat
    {
        int k = Gate.In;
        switch (rows)
        {
            case 12: PanelKernel.Run<TF, R12>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            case 11: PanelKernel.Run<TF, R11>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            case 10: PanelKernel.Run<TF, R10>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            case 9: PanelKernel.Run<TF, R9>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            case 8: PanelKernel.Run<TF, R8>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            case 7: PanelKernel.Run<TF, R7>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            case 6: PanelKernel.Run<TF, R6>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            case 5: PanelKernel.Run<TF, R5>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            case 4: PanelKernel.Run<TF, R4>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            case 3: PanelKernel.Run<TF, R3>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            case 2: PanelDecode.Run<TF, R2>(x, pa, pb, sa, sb, k, tile, prefetch); break;
            default: PanelDecode.Run<TF, R1>(x, pa, pb, sa, sb, k, tile, prefetch); break;
        }
    }
}
