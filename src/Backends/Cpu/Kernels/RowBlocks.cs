using System.Runtime.InteropServices;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// The activations of a panel product, cut into blocks of up to <see cref="PanelKernel.MaxRows"/>
/// rows (each block within one expert's segment) and packed k-major: block b with n rows holds
/// x[row + r, k] at <c>Block(b)[k * n + r]</c>, so the kernel broadcasts from one pointer that
/// advances by n per step. Each block is packed once per op, by the pool, before the tiles run,
/// and is then shared by every tile of its segment. Memory is kept and only grows.
/// </summary>
internal sealed unsafe class RowBlocks : ParallelJob
{
    private (int Row, int Rows, long Offset)[] _blocks = new (int, int, long)[64];
    private float* _data;
    private long _capacity;
    private long _floats;
    private float* _x;
    private int _ldx;
    private int _k;

    /// <summary>Blocks added since <see cref="Begin"/>.</summary>
    public int BlockCount { get; private set; }

    /// <summary>Forgets the previous op's blocks; rows are read from <paramref name="x"/> with stride <paramref name="ldx"/>.</summary>
    public void Begin(float* x, int ldx, int k)
    {
        _x = x;
        _ldx = ldx;
        _k = k;
        BlockCount = 0;
        _floats = 0;
    }

    /// <summary>Adds the blocks covering rows [m0, m1) and returns the index of the first.</summary>
    public int Add(int m0, int m1)
    {
        int first = BlockCount;
        for (int m = m0; m < m1; m += PanelKernel.MaxRows)
        {
            if (BlockCount == _blocks.Length)
            {
                Array.Resize(ref _blocks, _blocks.Length * 2);
            }

            int n = Math.Min(PanelKernel.MaxRows, m1 - m);
            _blocks[BlockCount++] = (m, n, _floats);
            _floats += (long)n * _k;
        }

        return first;
    }

    /// <summary>The packed data of block <paramref name="index"/> (valid after <see cref="Seal"/>).</summary>
    public float* Block(int index) => _data + _blocks[index].Offset;

    /// <summary>Makes room for every added block and prepares the packing job.</summary>
    public void Seal()
    {
        if (_floats > _capacity)
        {
            Free();
            _capacity = Math.Max(_floats, 2 * _capacity);
            _data = (float*)NativeMemory.AlignedAlloc((nuint)(_capacity * sizeof(float)), 64);
        }

        Reset(BlockCount);
    }

    /// <summary>Releases the memory.</summary>
    public void Free()
    {
        if (_data != null)
        {
            NativeMemory.AlignedFree(_data);
            _data = null;
            _capacity = 0;
        }
    }

    protected override void Execute(int index, int worker)
    {
        var (row, n, offset) = _blocks[index];
        float* dst = _data + offset;
        int k = _k;
        for (int r = 0; r < n; r++)
        {
            float* src = _x + (nint)(row + r) * _ldx;
            float* d = dst + r;
            for (int i = 0; i < k; i++)
            {
                d[(nint)i * n] = src[i];
            }
        }
    }
}
