using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Accel.Backends.Cpu.Vnni;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// One tile of work: rows [M0, M1) of X against output columns [N0, N1) of one expert's weight; a
/// split tile (<c>Far</c> at 0 or above) also covers as many columns from <c>Far</c> on, read beside
/// the first range (a panel beside its far panel, a quad group beside its far group).
/// </summary>
internal readonly record struct GemmTask(int Expert, int M0, int M1, int N0, int N1, bool Panel = false, int Block = 0, bool Amx = false, int Far = -1);

/// <summary>
/// Y = X * W^T over a list of tiles, run by every pool thread (tiles taken dynamically). In pair
/// mode the weight rows of <see cref="Gate"/> and <see cref="Up"/> are read side by side and the
/// epilogue writes silu(gate) * up (SwiGLU, optionally clamped): the fused first half of an expert.
/// </summary>
internal sealed unsafe partial class GemmJob : ParallelJob
{
    private GemmTask[] _tasks = new GemmTask[256];
    private float[][] _scratch = [];
    private float* _split;
    private float* _scaled;
    private byte* _quantized;
    private long _quantizedLd;
    private NativeScratch _rowsBuffer;
    private NativeScratch _quantBuffer;

    /// <summary>Whether FP4 decode segments may run on <see cref="Fp4VnniKernel"/> (<see cref="CpuBackendOptions.Vnni"/>).</summary>
    public bool Vnni { get; set; }

    /// <summary>Whether FP4 decode segments may run on <see cref="Fp4Vnni512Kernel"/> (<see cref="CpuBackendOptions.Vnni512"/>).</summary>
    public bool Vnni512 { get; set; }

    /// <summary>Int8 terms per activation in the VNNI FP4 decode kernels, 1-3 (<see cref="CpuBackendOptions.Fp4ActivationBits"/>).</summary>
    public int Fp4Terms { get; set; } = 3;

    /// <summary>
    /// Whether one-row decode of quad-layout FP4 weights takes two groups side by side in one kernel
    /// loop: a gate group and its up group, or group j and group j + G/2 of a single weight
    /// (<see cref="CpuBackendOptions.Fp4TwoGroups"/>).
    /// </summary>
    public bool Fp4TwoGroups { get; set; } = true;

    // The 512-bit kernels of this op (one and two rows, and one row two groups at a time), when its
    // activations are quantized for them.
    private Fp4Vnni512Kernel? _zmmOne;
    private Fp4Vnni512Kernel? _zmmTwo;
    private Fp4Vnni512Kernel? _zmmDual;

    /// <summary>Whether bf16 decode segments run on <see cref="Bf16.Bf16Kernel"/> (<see cref="CpuBackendOptions.Bf16Dot"/>).</summary>
    public bool Bf16Dot { get; set; }

    private ushort* _bf16Hi;
    private ushort* _bf16Lo;

    public float* X;
    public int Ldx;
    public float* Y;
    public int Ldy;
    public WeightMatrix Gate;
    public WeightMatrix Up;
    public bool Pair;
    public float Limit = float.NaN;
    public bool Portable;

    /// <summary>Per-row factors applied after SwiGLU in pair mode (the routing weights); null for none.</summary>
    public float* RowScale;

    /// <summary>Number of tiles filled so far.</summary>
    public int TaskCount { get; private set; }

    /// <summary>Forgets the tiles of the previous run and sets the common parameters.</summary>
    public void Begin(float* x, int ldx, float* y, int ldy, in WeightMatrix w, bool portable)
    {
        X = x;
        Ldx = ldx;
        Y = y;
        Ldy = ldy;
        Gate = w;
        Up = default;
        Pair = false;
        Limit = float.NaN;
        RowScale = null;
        Portable = portable || w.NeedsExactDecoder;
        TaskCount = 0;
        Rows.Begin(x, ldx, w.In);
        AmxRows.Begin(x, ldx, w.In);
        BeginAmx();
        _split = null;
        _scaled = null;
        _quantized = null;
        _zmmOne = _zmmTwo = _zmmDual = null;
        _bf16Hi = _bf16Lo = null;
    }

    /// <summary>Releases the prepared activations (<see cref="PrepareRows"/>).</summary>
    public void FreeSplit()
    {
        _quantBuffer.Free();
        _rowsBuffer.Free();
        for (int i = 0; i < _fp4Panels.Length; i++)
        {
            _fp4Panels[i].Free();
        }

        _split = _scaled = null;
        _quantized = null;
        _zmmOne = _zmmTwo = _zmmDual = null;
        _bf16Hi = _bf16Lo = null;
    }

    /// <summary>Switches to pair (fused SwiGLU) mode with the up weight and an optional clamp.</summary>
    public void UsePair(in WeightMatrix up, float? limit)
    {
        Up = up;
        Pair = true;
        Limit = limit ?? float.NaN;
        Portable |= up.NeedsExactDecoder || up.Format != Gate.Format || up.Panels != Gate.Panels || up.Quads != Gate.Quads;
    }

    /// <summary>Adds tiles covering rows [m0, m1) and columns [0, outDim) of expert e.</summary>
    private void AddTiles(int expert, int m0, int m1, int outDim, int nChunk, int mChunk)
    {
        for (int n = 0; n < outDim; n += nChunk)
        {
            for (int m = m0; m < m1; m += mChunk)
            {
                Add(new GemmTask(expert, m, Math.Min(m1, m + mChunk), n, Math.Min(outDim, n + nChunk)));
            }
        }
    }

    private void Add(in GemmTask task)
    {
        if (TaskCount == _tasks.Length)
        {
            Array.Resize(ref _tasks, _tasks.Length * 2);
        }

        _tasks[TaskCount++] = task;
    }

    /// <summary>Prepares the job to run every added tile.</summary>
    public void Seal(int threads)
    {
        if (_scratch.Length < threads)
        {
            Array.Resize(ref _scratch, threads);
            Array.Resize(ref _fp4Panels, threads);
        }

        SealAmx(threads);
        int rows = 0;
        for (int i = 0; i < TaskCount; i++)
        {
            rows = _tasks[i].Panel || _tasks[i].Amx ? rows : Math.Max(rows, _tasks[i].M1);
        }

        PrepareRows(rows);

        // Panel rows are packed (in parallel) times 2^90 for the one-multiply decoders; the
        // backend packs them again unscaled if an activation turns out too large for that.
        Rows.Factor = Fp8Fast ? Fp8.XScale : 1f;
        // One run of consecutive tiles (adjacent weight rows) per thread, the others helped after.
        Reset(TaskCount, threads);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Execute(int index, int worker)
    {
        var t = _tasks[index];
        if (t.Amx)
        {
            RunAmx(t, worker);
            return;
        }

        if (t.Panel)
        {
            RunPanel(t, worker);
            return;
        }

        if (t.Far >= 0)
        {
            // A tile of two distant column ranges: side by side on the two-group kernel, else one range after the other.
            if (_zmmDual != null)
            {
                FarQuadGroups(t);
                return;
            }

            ExecuteRows(t with { Far = -1 }, worker);
            ExecuteRows(t with { N0 = t.Far, N1 = t.Far + t.N1 - t.N0, Far = -1 }, worker);
            return;
        }

        ExecuteRows(t, worker);
    }

    /// <summary>Runs a row-kernel tile (not panels, not AMX, one column range).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ExecuteRows(in GemmTask t, int worker)
    {
        if (Portable || (Gate.Quads && _zmmOne == null))
        {
            // Quad-layout weights decode on the 512-bit VNNI kernel or on panels; a tile neither
            // takes (activations it could not quantize) reads its rows through the exact decoder.
            RunPortable(t, worker);
            return;
        }

        switch (Gate.Format)
        {
            case WeightFormat.F32: Run<F32Format>(t); break;
            case WeightFormat.BF16: Run<BF16Format>(t); break;
            case WeightFormat.F16: Run<F16Format>(t); break;
            case WeightFormat.Fp8F32Scale: Run<Fp8F32ScaleFormat>(t); break;
            case WeightFormat.Fp8E8Scale: Run<Fp8E8ScaleFormat>(t); break;
            default: Run<Fp4Format>(t); break;
        }
    }

    /// <summary>Rows of X above which a tile keeps a row block in L1 and streams weight rows from L2 (<see cref="CpuBackendOptions.StreamRowsAbove"/>).</summary>
    public int StreamRowsAbove { get; set; } = 24;

    /// <summary>Weight blocks ahead that decode tiles prefetch; 0 = off (<see cref="CpuBackendOptions.PrefetchBlocks"/>).</summary>
    public int PrefetchBlocks { get; set; } = 2;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run<TF>(GemmTask t) where TF : struct, IWeightFormat
    {
        float* tile = stackalloc float[24];
        WeightRows4 rows = default;
        int step = Pair ? 2 : 4;
        if (typeof(TF) == typeof(Fp4Format) && _zmmOne != null && Gate.Quads && t.M1 - t.M0 > VnniMaxRows)
        {
            // The row kernels read row-major rows only: a quad-layout tile of three rows or more
            // (below the panels) passes its weights, from cache after the first pass, to the VNNI
            // kernel two rows at a time (whole groups: quad-layout tiles leave no columns over).
            for (int m = t.M0; m < t.M1; m += VnniMaxRows)
            {
                if (Fp4Groups(t with { M0 = m, M1 = Math.Min(m + VnniMaxRows, t.M1) }, &rows) != t.N1)
                {
                    throw new InvalidOperationException($"A quad-layout tile of columns {t.N0}-{t.N1} is not whole groups; this is a bug in the tiling.");
                }
            }
        }
        else if (t.M1 - t.M0 > StreamRowsAbove)
        {
            // Many rows (prefill): a 6-row block of X stays in L1 while the tile's weight rows
            // (a few hundred KB, in L2 after the first block) pass over it.
            for (int m = t.M0; m < t.M1; m += 6)
            {
                for (int n = t.N0; n < t.N1; n += step)
                {
                    Block<TF>(t, n, m, &rows, tile, 0);
                }
            }
        }
        else
        {
            // Few rows (decode): 4 weight rows stay in L1 while every row of X passes over them,
            // so each weight byte is read from memory once and the stream overlaps compute.
            nint prefetch = DecodePrefetch;
            int n = t.N0;
            if (typeof(TF) == typeof(Fp4Format) && _zmmOne != null && t.M1 - t.M0 <= VnniMaxRows)
            {
                n = Fp4Groups(t, &rows);
            }

            for (; n < t.N1; n += step)
            {
                for (int m = t.M0; m < t.M1; m += 6)
                {
                    Block<TF>(t, n, m, &rows, tile, m == t.M0 ? prefetch : 0);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Block<TF>(in GemmTask t, int n, int m, WeightRows4* rows, float* tile, nint prefetch) where TF : struct, IWeightFormat
    {
        int last = t.N1 - 1;
        if (Pair)
        {
            SetRow(ref rows->R0, ref rows->S0, Gate, t.Expert, n);
            SetRow(ref rows->R1, ref rows->S1, Gate, t.Expert, Math.Min(n + 1, last));
            SetRow(ref rows->R2, ref rows->S2, Up, t.Expert, n);
            SetRow(ref rows->R3, ref rows->S3, Up, t.Expert, Math.Min(n + 1, last));
        }
        else
        {
            SetRow(ref rows->R0, ref rows->S0, Gate, t.Expert, n);
            SetRow(ref rows->R1, ref rows->S1, Gate, t.Expert, Math.Min(n + 1, last));
            SetRow(ref rows->R2, ref rows->S2, Gate, t.Expert, Math.Min(n + 2, last));
            SetRow(ref rows->R3, ref rows->S3, Gate, t.Expert, Math.Min(n + 3, last));
        }

        int k = Gate.In;
        int mr = Math.Min(6, t.M1 - m);
        if (typeof(TF) == typeof(BF16Format) && _bf16Hi != null && mr <= Bf16.Bf16Kernel.MaxRows)
        {
            nint at = (nint)m * k;
            Bf16.Bf16Kernel.Get(mr, (int)(prefetch & ~63)).Dot(_bf16Hi + at, _bf16Lo + at, k, rows, k, tile);
        }
        else if (typeof(TF) == typeof(Fp4Format) && _quantized != null && t.M1 - t.M0 <= VnniMaxRows)
        {
            byte* q = _quantized + m * _quantizedLd;
            if (_zmmOne != null)
            {
                (mr == 2 ? _zmmTwo! : _zmmOne).Run(q, q + _quantizedLd, rows, k, tile);
            }
            else
            {
                Fp4Vnni(q, rows, k, tile, prefetch, mr);
            }
        }
        else if (typeof(TF) == typeof(Fp4Format) && _split != null)
        {
            Fp4(_split + (nint)m * k, rows, k, tile, prefetch, mr);
        }
        else if (typeof(TF) == typeof(Fp8F32ScaleFormat) && _scaled != null)
        {
            Dot<Fp8F32ScaleX90Format>(_scaled + (nint)m * k, k, rows, k, tile, prefetch, mr);
        }
        else if (typeof(TF) == typeof(Fp8E8ScaleFormat) && _scaled != null)
        {
            Dot<Fp8E8ScaleX90Format>(_scaled + (nint)m * k, k, rows, k, tile, prefetch, mr);
        }
        else
        {
            Dot<TF>(X + (nint)m * Ldx, Ldx, rows, k, tile, prefetch, mr);
        }

        StoreTile(t, n, m, mr, tile);
    }

    /// <summary>Writes a tile of <paramref name="mr"/> rows of four products at (m, n): as they are, or through SwiGLU in pair mode.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void StoreTile(in GemmTask t, int n, int m, int mr, float* tile)
    {
        int width = Math.Min(Pair ? 2 : 4, t.N1 - n);
        float* y = Y + (nint)m * Ldy + n;
        for (int r = 0; r < mr; r++)
        {
            float* dst = y + (nint)r * Ldy;
            float* src = tile + r * 4;
            float s = ScaleOf(m + r);
            for (int c = 0; c < width; c++)
            {
                dst[c] = Pair ? Activation.SwiGlu(src[c], src[c + 2], Limit) * s : src[c];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dot<TF>(float* x, int ldx, WeightRows4* rows, int k, float* tile, nint prefetch, int mr) where TF : struct, IWeightFormat
    {
        switch (mr)
        {
            case 6: DotKernel.Run<TF, R6>(x, ldx, rows, k, tile, prefetch); break;
            case 5: DotKernel.Run<TF, R5>(x, ldx, rows, k, tile, prefetch); break;
            case 4: DotKernel.Run<TF, R4>(x, ldx, rows, k, tile, prefetch); break;
            case 3: DotKernel.Run<TF, R3>(x, ldx, rows, k, tile, prefetch); break;
            case 2: DotKernel.Run<TF, R2>(x, ldx, rows, k, tile, prefetch); break;
            default: DotKernel.Run<TF, R1>(x, ldx, rows, k, tile, prefetch); break;
        }
    }

    /// <summary>The 256-bit VNNI FP4 kernel for <paramref name="mr"/> (1 or 2) quantized rows with this job's terms.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Fp4Vnni(byte* q, WeightRows4* rows, int k, float* tile, nint prefetch, int mr)
    {
        long ld = _quantizedLd;
        switch ((mr, Fp4Terms))
        {
            case (2, 1): Fp4VnniKernel.Run<R2, R1>(q, ld, rows, k, tile, prefetch); break;
            case (2, 2): Fp4VnniKernel.Run<R2, R2>(q, ld, rows, k, tile, prefetch); break;
            case (2, _): Fp4VnniKernel.Run<R2, R3>(q, ld, rows, k, tile, prefetch); break;
            case (_, 1): Fp4VnniKernel.Run<R1, R1>(q, ld, rows, k, tile, prefetch); break;
            case (_, 2): Fp4VnniKernel.Run<R1, R2>(q, ld, rows, k, tile, prefetch); break;
            default: Fp4VnniKernel.Run<R1, R3>(q, ld, rows, k, tile, prefetch); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fp4(float* x, WeightRows4* rows, int k, float* tile, nint prefetch, int mr)
    {
        switch (mr)
        {
            case 6: Fp4Kernel.Run<R6>(x, k, rows, k, tile, prefetch); break;
            case 5: Fp4Kernel.Run<R5>(x, k, rows, k, tile, prefetch); break;
            case 4: Fp4Kernel.Run<R4>(x, k, rows, k, tile, prefetch); break;
            case 3: Fp4Kernel.Run<R3>(x, k, rows, k, tile, prefetch); break;
            case 2: Fp4Kernel.Run<R2>(x, k, rows, k, tile, prefetch); break;
            default: Fp4Kernel.Run<R1>(x, k, rows, k, tile, prefetch); break;
        }
    }

    /// <summary>The pair-mode factor of row <paramref name="m"/> (1 without row scales).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float ScaleOf(int m) => RowScale == null ? 1f : RowScale[m];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SetRow(ref byte* row, ref byte* scale, in WeightMatrix w, int e, int n)
    {
        row = w.Row(e, n);
        scale = w.ScaleRow(e, n);
    }

    private void RunPortable(GemmTask t, int worker)
    {
        int k = Gate.In;
        ref float[] scratch = ref _scratch[worker];
        if (scratch is null || scratch.Length < 2 * k)
        {
            scratch = new float[Math.Max(2 * k, 64)];
        }

        var g = scratch.AsSpan(0, k);
        var u = scratch.AsSpan(k, k);
        for (int n = t.N0; n < t.N1; n++)
        {
            Gate.DequantRow(t.Expert, n, g);
            if (Pair)
            {
                Up.DequantRow(t.Expert, n, u);
            }

            for (int m = t.M0; m < t.M1; m++)
            {
                var x = new ReadOnlySpan<float>(X + (nint)m * Ldx, k);
                float a = Dot(x, g);
                Y[(nint)m * Ldy + n] = Pair ? Activation.SwiGlu(a, Dot(x, u), Limit) * ScaleOf(m) : a;
            }
        }
    }

    /// <summary>A portable dot product with <see cref="Vector{T}"/> (any width, any processor).</summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        var acc0 = Vector<float>.Zero;
        var acc1 = Vector<float>.Zero;
        int i = 0;
        for (; i + 1 < va.Length; i += 2)
        {
            acc0 = Vector.FusedMultiplyAdd(va[i], vb[i], acc0);
            acc1 = Vector.FusedMultiplyAdd(va[i + 1], vb[i + 1], acc1);
        }

        if (i < va.Length)
        {
            acc0 = Vector.FusedMultiplyAdd(va[i], vb[i], acc0);
        }

        float sum = Vector.Sum(acc0 + acc1);
        for (int j = va.Length * Vector<float>.Count; j < a.Length; j++)
        {
            sum += a[j] * b[j];
        }

        return sum;
    }
}
