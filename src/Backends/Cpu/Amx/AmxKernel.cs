using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Accel.Backends.Cpu.Amx;

/// <summary>The argument block of an AMX kernel call (field offsets are part of the emitted code).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct AmxArgs
{
    /// <summary>First 16 rows of split activations (<see cref="AmxPack.SplitRow"/>).</summary>
    public byte* A;
    /// <summary>Rows 16-31 (two-row-tile kernels only).</summary>
    public byte* A2;
    /// <summary>Bytes between activation rows.</summary>
    public long Lda;
    /// <summary>Expanded weight tiles (<see cref="AmxPack"/>).</summary>
    public byte* B;
    /// <summary>Input-dimension blocks of 32.</summary>
    public long KBlocks;
    /// <summary>The 64-byte tile configuration.</summary>
    public byte* Config;
    /// <summary>Always 64: the row stride of a weight tile.</summary>
    public long TileStride;
    /// <summary>Output rows 0-15 (32 floats each).</summary>
    public float* C;
    /// <summary>Output rows 16-31.</summary>
    public float* C2;
    /// <summary>Bytes between output rows.</summary>
    public long Ldc;
}

/// <summary>
/// One AMX micro-kernel: 16 or 32 activation rows against two 16-column weight tiles, the input
/// dimension fixed when the code is written. Activations are split into three bf16 parts
/// (x = x1 + x2 + x3 exactly). With fp32 (or dequantised FP8) weights, split the same way, the kernel sums the six
/// products whose weight is at least 2^-16 of the leading one (x1w1, x1w2, x1w3, x2w1, x2w2, x3w1),
/// each exact in fp32, so the result matches an fp32 GEMM to within fp32 rounding; with bf16
/// weights it sums x1w + x2w + x3w. Accumulation is fp32 in the tile registers.
/// </summary>
internal sealed unsafe class AmxKernel
{
    /// <summary>Bytes of expanded weights per 32-wide input block for two output tiles.</summary>
    public static int BlockBytes(bool splitWeights) => (splitWeights ? 3 : 1) * AmxPack.PartBytes;

    private static readonly ConcurrentDictionary<(bool, int, int), AmxKernel> Cache = new();
    private static readonly byte* TileConfig = MakeConfig();

    private readonly delegate* unmanaged<AmxArgs*, void> _entry;

    private AmxKernel(bool splitWeights, int rowTiles, int k)
    {
        _entry = (delegate* unmanaged<AmxArgs*, void>)AmxRuntime.MapCode(Emit(splitWeights, rowTiles, k));
    }

    /// <summary>The kernel for this weight precision, 1 or 2 row tiles and input size <paramref name="k"/> (a multiple of 32).</summary>
    /// <exception cref="InvalidOperationException">AMX cannot run in this process (running it would kill the process).</exception>
    public static AmxKernel Get(bool splitWeights, int rowTiles, int k)
    {
        if (!AmxRuntime.IsAvailable)
        {
            throw new InvalidOperationException($"AMX kernels cannot run here: {AmxRuntime.WhyUnavailable}.");
        }

        return Cache.GetOrAdd((splitWeights, rowTiles, k), key => new AmxKernel(key.Item1, key.Item2, key.Item3));
    }

    /// <summary>Runs the kernel; fills in the configuration and tile stride.</summary>
    public void Run(AmxArgs* args)
    {
        args->Config = TileConfig;
        args->TileStride = 64;
        _entry(args);
    }

    /// <summary>The machine code (exposed for tests that check the encoding).</summary>
    internal static byte[] Emit(bool splitWeights, int rowTiles, int k)
    {
        const int A0 = 4, A1 = 5, B0 = 6, B1 = 7;
        int segment = k * 2;
        var e = new AmxEmitter();
        e.Load64(AmxEmitter.Rax, AmxEmitter.Rdi, 0);
        e.Load64(AmxEmitter.R8, AmxEmitter.Rdi, 8);
        e.Load64(AmxEmitter.Rsi, AmxEmitter.Rdi, 16);
        e.Load64(AmxEmitter.Rdx, AmxEmitter.Rdi, 24);
        e.Load64(AmxEmitter.Rcx, AmxEmitter.Rdi, 32);
        e.Load64(AmxEmitter.R9, AmxEmitter.Rdi, 40);
        e.Load64(AmxEmitter.R10, AmxEmitter.Rdi, 48);
        e.LdTileCfg(AmxEmitter.R9);
        for (int t = 0; t < 2 * rowTiles; t++) { e.TileZero(t); }

        // Activation part a times weight parts: fp32 weights keep the six largest cross terms.
        int[][] groups = splitWeights ? [[0, 1, 2], [0, 1], [0]] : [[0], [0], [0]];
        int loop = e.Position;
        for (int a = 0; a < 3; a++)
        {
            e.TileLoad(A0, AmxEmitter.Rax, AmxEmitter.Rsi, a * segment);
            if (rowTiles == 2) { e.TileLoad(A1, AmxEmitter.R8, AmxEmitter.Rsi, a * segment); }

            foreach (int w in groups[a])
            {
                if (splitWeights || a == 0)
                {
                    e.TileLoad(B0, AmxEmitter.Rdx, AmxEmitter.R10, w * AmxPack.PartBytes);
                    e.TileLoad(B1, AmxEmitter.Rdx, AmxEmitter.R10, w * AmxPack.PartBytes + AmxPack.TileBytes);
                }

                e.Tdpbf16ps(0, A0, B0);
                e.Tdpbf16ps(1, A0, B1);
                if (rowTiles == 2)
                {
                    e.Tdpbf16ps(2, A1, B0);
                    e.Tdpbf16ps(3, A1, B1);
                }
            }
        }

        e.AddImm(AmxEmitter.Rax, 64);
        e.AddImm(AmxEmitter.R8, 64);
        e.AddImm(AmxEmitter.Rdx, BlockBytes(splitWeights));
        e.Dec(AmxEmitter.Rcx);
        e.Jnz(loop);
        e.Load64(AmxEmitter.R11, AmxEmitter.Rdi, 56);
        e.Load64(AmxEmitter.R9, AmxEmitter.Rdi, 64);
        e.Load64(AmxEmitter.Rsi, AmxEmitter.Rdi, 72);
        e.TileStore(0, AmxEmitter.R11, AmxEmitter.Rsi, 0);
        e.TileStore(1, AmxEmitter.R11, AmxEmitter.Rsi, 64);
        if (rowTiles == 2)
        {
            e.TileStore(2, AmxEmitter.R9, AmxEmitter.Rsi, 0);
            e.TileStore(3, AmxEmitter.R9, AmxEmitter.Rsi, 64);
        }

        e.TileRelease();
        e.Ret();
        return e.ToArray();
    }

    private static byte* MakeConfig()
    {
        // Palette 1; tiles 0-7 all 16 rows of 64 bytes.
        byte* cfg = (byte*)NativeMemory.AlignedAlloc(64, 64);
        new Span<byte>(cfg, 64).Clear();
        cfg[0] = 1;
        for (int t = 0; t < 8; t++)
        {
            cfg[16 + 2 * t] = 64;
            cfg[48 + t] = 16;
        }

        return cfg;
    }
}
