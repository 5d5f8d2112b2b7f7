using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Accel.Backends.Cpu.Amx;

namespace Accel.Backends.Cpu.Kernels;

internal sealed unsafe partial class GemmJob
{
    /// <summary>Segment rows from which bf16 and FP8 products (and fp32 ones with <see cref="AmxFp32"/>) run on AMX tiles.</summary>
    public int AmxMinRows { get; set; } = 64;

    private nint[] _amxScratch = [];
    private AmxKernel? _amxOneTile;
    private AmxKernel? _amxTwoTiles;
    private long[] _amxScratchBytes = [];

    /// <summary>Whether fp32-weight products run on AMX tiles too.</summary>
    public bool AmxFp32 { get; set; }

    /// <summary>Whether products may run on AMX tiles (set by the backend: option, processor and OS permission).</summary>
    public bool AmxEnabled { get; set; }

    /// <summary>The split activations of the AMX tiles, packed by the pool before the tiles run.</summary>
    public AmxRows AmxRows { get; } = new();

    /// <summary>Whether the weights go to the tiles in three bf16 parts: bf16 weights are exact in one; fp32 and dequantised FP8 need three.</summary>
    private bool SplitWeights => Gate.Format != WeightFormat.BF16;

    /// <summary>Whether a segment of <paramref name="rows"/> rows runs on AMX tiles.</summary>
    private bool UsesAmx(int rows) =>
        AmxEnabled && UsesPanels && rows >= AmxMinRows && Gate.In % 32 == 0
        && (Gate.Format is WeightFormat.BF16 or WeightFormat.Fp8F32Scale or WeightFormat.Fp8E8Scale
            || (Gate.Format == WeightFormat.F32 && AmxFp32))
        && (!Pair || Up.Format == Gate.Format);

    /// <summary>AMX tiles for rows [m0, m1) of expert e: 16 columns of gate and up (pair mode) or 32 columns per tile.</summary>
    private void AddAmxTiles(int expert, int m0, int m1, int outDim, int mChunk)
    {
        if (_amxOneTile is null)
        {
            // Looked up once per op, not per kernel call.
            _amxOneTile = AmxKernel.Get(SplitWeights, 1, Gate.In);
            _amxTwoTiles = AmxKernel.Get(SplitWeights, 2, Gate.In);
        }

        int first = AmxRows.Add(m0, m1);
        mChunk = Math.Max(32, mChunk / 32 * 32);
        int step = Pair ? PanelLayout.Width : 2 * PanelLayout.Width;
        for (int n = 0; n < outDim; n += step)
        {
            for (int m = m0; m < m1; m += mChunk)
            {
                Add(new GemmTask(expert, m, Math.Min(m1, m + mChunk), n, Math.Min(outDim, n + step),
                    Block: first + (m - m0) / AmxRows.TileRows, Amx: true));
            }
        }
    }

    /// <summary>
    /// One AMX tile: expands the tile's two weight panels (gate and up in pair mode) into the
    /// kernel's bf16 parts in this worker's scratch, then runs 32 rows at a time against them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunAmx(GemmTask t, int worker)
    {
        int k = Gate.In;
        long expanded = (long)(k / 32) * AmxKernel.BlockBytes(SplitWeights);
        byte* b = AmxScratch(worker, expanded + 32 * 32 * sizeof(float));
        float* c = (float*)(b + expanded);
        bool two = TilePanels(t, out byte* p0, out byte* s0, out byte* p1, out byte* s1);
        Expand(p0, s0, k, b, 0);
        Expand(p1, s1, k, b, 1);

        var args = new AmxArgs { Lda = AmxRows.Lda, B = b, KBlocks = k / 32, C = c, C2 = c + 16 * 32, Ldc = 32 * sizeof(float) };
        int block = t.Block;
        for (int m = t.M0; m < t.M1; m += 32, block += 2)
        {
            int rows = Math.Min(32, t.M1 - m);
            bool twoTiles = rows > AmxRows.TileRows;
            args.A = AmxRows.Block(block);
            args.A2 = twoTiles ? AmxRows.Block(block + 1) : args.A;
            (twoTiles ? _amxTwoTiles! : _amxOneTile!).Run(&args);
            StoreTile(c, m, rows, t.N0, two, t.N0 + PanelLayout.Width);
        }
    }

    private void Expand(byte* panel, byte* scales, int k, byte* dst, int column)
    {
        switch (Gate.Format)
        {
            case WeightFormat.F32: AmxPack.ExpandSplit<F32Format>(panel, scales, k, dst, column); break;
            case WeightFormat.BF16: AmxPack.ExpandBF16((ushort*)panel, k, dst, column); break;
            case WeightFormat.Fp8F32Scale: AmxPack.ExpandSplit<Fp8F32ScaleFormat>(panel, scales, k, dst, column); break;
            default: AmxPack.ExpandSplit<Fp8E8ScaleFormat>(panel, scales, k, dst, column); break;
        }
    }

    private byte* AmxScratch(int worker, long bytes)
    {
        if (_amxScratchBytes[worker] < bytes)
        {
            NativeMemory.AlignedFree((void*)_amxScratch[worker]);
            _amxScratch[worker] = (nint)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            _amxScratchBytes[worker] = bytes;
        }

        return (byte*)_amxScratch[worker];
    }

    /// <summary>Forgets the previous op's AMX kernels (the next op may have another format or input size).</summary>
    private void BeginAmx()
    {
        _amxOneTile = null;
        _amxTwoTiles = null;
    }

    private void SealAmx(int threads)
    {
        if (_amxScratch.Length < threads)
        {
            Array.Resize(ref _amxScratch, threads);
            Array.Resize(ref _amxScratchBytes, threads);
        }
    }

    /// <summary>Releases the AMX activations and every worker's scratch.</summary>
    public void FreeAmx()
    {
        AmxRows.Free();
        FreeSplit();
        for (int i = 0; i < _amxScratch.Length; i++)
        {
            NativeMemory.AlignedFree((void*)_amxScratch[i]);
            _amxScratch[i] = 0;
            _amxScratchBytes[i] = 0;
        }
    }
}
