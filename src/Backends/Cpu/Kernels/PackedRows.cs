using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// Activations of a product repacked for a micro-kernel, in blocks of up to
/// <see cref="BlockRows"/> rows (each block within one expert's segment). Each block is packed
/// once per op, by the pool, before the tiles run, and is then shared by every tile of its
/// segment. Memory is kept and only grows.
/// </summary>
internal abstract unsafe class PackedRows : ParallelJob
{
    private (int Row, int Rows, long Offset)[] _blocks = new (int, int, long)[64];
    private byte* _data;
    private long _capacity;
    private long _bytes;

    /// <summary>Rows of X the next op reads, with stride <see cref="Ldx"/> floats.</summary>
    protected float* X { get; private set; }

    /// <summary>Floats between rows of X.</summary>
    protected int Ldx { get; private set; }

    /// <summary>The input dimension.</summary>
    protected int K { get; private set; }

    /// <summary>Rows per block at most.</summary>
    public abstract int BlockRows { get; }

    /// <summary>Bytes of a block of <paramref name="rows"/> rows.</summary>
    protected abstract long BlockBytes(int rows);

    /// <summary>Packs rows [row, row + rows) of X into <paramref name="dst"/>.</summary>
    protected abstract void Pack(int row, int rows, byte* dst);

    /// <summary>Blocks added since <see cref="Begin"/>.</summary>
    public int BlockCount { get; private set; }

    /// <summary>Forgets the previous op's blocks; rows are read from <paramref name="x"/> with stride <paramref name="ldx"/>.</summary>
    public void Begin(float* x, int ldx, int k)
    {
        X = x;
        Ldx = ldx;
        K = k;
        BlockCount = 0;
        _bytes = 0;
    }

    /// <summary>Adds the blocks covering rows [m0, m1) and returns the index of the first.</summary>
    public int Add(int m0, int m1)
    {
        int first = BlockCount;
        for (int m = m0; m < m1; m += BlockRows)
        {
            if (BlockCount == _blocks.Length)
            {
                Array.Resize(ref _blocks, _blocks.Length * 2);
            }

            int n = Math.Min(BlockRows, m1 - m);
            _blocks[BlockCount++] = (m, n, _bytes);
            _bytes += (BlockBytes(n) + 63) & ~63L;
        }

        return first;
    }

    /// <summary>The packed data of block <paramref name="index"/> (valid after <see cref="Seal"/>).</summary>
    protected byte* Data(int index) => _data + _blocks[index].Offset;

    /// <summary>Makes room for every added block and prepares the packing job.</summary>
    public void Seal()
    {
        if (_bytes > _capacity)
        {
            Free();
            _capacity = Math.Max(_bytes, 2 * _capacity);
            _data = (byte*)NativeMemory.AlignedAlloc((nuint)_capacity, 64);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Execute(int index, int worker)
    {
        var (row, n, offset) = _blocks[index];
        Pack(row, n, _data + offset);
    }
}
