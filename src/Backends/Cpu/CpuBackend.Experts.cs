using System.Runtime.CompilerServices;
using Accel.Backends.Cpu.Kernels;
using Accel.Types;

namespace Accel.Backends.Cpu;

public sealed unsafe partial class CpuBackend
{
    /// <summary>Rows of X per tile: bounds the work of one tile so the pool balances at the end.</summary>
    private const int RowChunk = 192;

    /// <summary>
    /// OP-12: for every expert with rows, its segment of Xp times its weight. Each tile streams a
    /// chunk of the expert's weight rows once and applies them to all the segment's rows (the
    /// decode GEMV when the segment has one or two rows, a register-blocked GEMM when it has many).
    /// Rows outside every segment are zero. With <paramref name="up"/> the product is fused with
    /// SwiGLU: <paramref name="w"/> is the gate weight and each row is scaled by
    /// <paramref name="rowScale"/> (when given) after the activation.
    /// </summary>
    private void GroupedGemm(CpuBuffer xp, WeightMatrix w, CpuBuffer offsets, CpuBuffer y,
        WeightMatrix? up = null, float? limit = null, float* rowScale = null)
    {
        int rows = y.Dim(0), dout = w.Out;
        _gemm.Begin(xp.F32, w.In, y.F32, dout, w, _portable);
        if (up is { } u)
        {
            _gemm.UsePair(u, limit);
            _gemm.RowScale = rowScale;
        }

        int* off = offsets.I32;
        int covered = 0;
        int used = 0, widest = 0;
        for (int e = 0; e < w.Experts; e++)
        {
            int begin = Math.Clamp(off[e], 0, rows), end = Math.Clamp(off[e + 1], 0, rows);
            if (end > begin)
            {
                used++;
                widest = Math.Max(widest, end - begin);
            }
        }

        int nChunk = ColumnChunk(dout, used, step: up is null ? 4 : 2, DecodeColumnBytes(widest, w, up is not null));
        for (int e = 0; e < w.Experts; e++)
        {
            int begin = Math.Clamp(off[e], 0, rows), end = Math.Clamp(off[e + 1], 0, rows);
            if (begin > covered)
            {
                Clear(y, covered, begin, dout);
            }

            if (end > begin)
            {
                _gemm.AddSegment(e, begin, end, dout, nChunk, RowChunk);
            }

            covered = Math.Max(covered, end);
        }

        Clear(y, covered, rows, dout);
        RunGemm();
    }

    /// <summary>Dense y = x * W^T for a single weight (router and projections).</summary>
    private void Dense(CpuBuffer x, WeightMatrix w, CpuBuffer y)
    {
        int rows = y.Dim(0);
        _gemm.Begin(x.F32, w.In, y.F32, w.Out, w, _portable);
        AddDense(rows, w.Out, step: 4);
        RunGemm();
    }

    /// <summary>Tiles of a dense product (one segment of all rows).</summary>
    private void AddDense(int rows, int outDim, int step) =>
        _gemm.AddSegment(0, 0, rows, outDim, ColumnChunk(outDim, 1, step, DecodeColumnBytes(rows, _gemm.Gate, _gemm.Pair)), RowChunk);

    /// <summary>
    /// OP-15: the shared expert as two passes: gate and up weights read side by side with SwiGLU
    /// in the epilogue (the intermediate is written once, to scratch), then the down projection;
    /// a Qwen-style sigmoid gate scales each output row.
    /// </summary>
    private void SharedExpert(CpuBuffer x, WeightMatrix w1, WeightMatrix w3, WeightMatrix w2, CpuBuffer? expertGate,
        CpuBuffer z, float? limit)
    {
        int rows = x.Dim(0), d = w1.In, inter = w1.Out;
        float* act = (float*)Scratch((long)rows * inter * 4 + 64);
        _gemm.Begin(x.F32, d, act, inter, w1, _portable);
        _gemm.UsePair(w3, limit);
        AddDense(rows, inter, step: 2);
        RunGemm();
        _gemm.Begin(act, inter, z.F32, w2.Out, w2, _portable);
        AddDense(rows, w2.Out, step: 4);
        RunGemm();
        if (expertGate is not null)
        {
            var g = Matrix(expertGate, null);
            Span<float> gateRow = d <= 8192 ? stackalloc float[d] : new float[d];
            g.DequantRow(0, 0, gateRow);
            for (int r = 0; r < rows; r++)
            {
                float s = GemmJob.Dot(new ReadOnlySpan<float>(x.F32 + (long)r * d, d), gateRow);
                float sig = (float)(1.0 / (1.0 + Math.Exp(-s)));
                var zr = new Span<float>(z.F32 + (long)r * w2.Out, w2.Out);
                for (int i = 0; i < zr.Length; i++) { zr[i] *= sig; }
            }
        }
    }

    /// <summary>
    /// OP-13: a = silu(min(g, L)) * clamp(u, -L, L), times the row's routing weight when connected
    /// (0 for padding rows).
    /// </summary>
    private void SwiGlu(CpuBuffer gate, CpuBuffer up, CpuBuffer? weights, CpuBuffer? posToToken, CpuBuffer? posToSlot,
        CpuBuffer a, float? limit)
    {
        int rows = a.Dim(0), width = a.Dim(1);
        var job = _range.For(rows, Math.Max(1, 16384 / Math.Max(width, 1)), &SwiGluRows);
        job.P0 = gate.F32;
        job.P1 = up.F32;
        job.P2 = a.F32;
        job.P3 = weights is null ? null : weights.F32;
        job.P4 = posToToken is null ? null : posToToken.I32;
        job.I0 = width;
        job.I1 = weights is null ? 0 : weights.Dim(1);
        job.F0 = limit ?? float.NaN;
        job.P5 = posToSlot is null ? null : posToSlot.I32;
        _pool.Run(job);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SwiGluRows(RangeJob j, int begin, int end)
    {
        int width = j.I0, k = j.I1;
        float* g = (float*)j.P0, u = (float*)j.P1, a = (float*)j.P2, w = (float*)j.P3;
        int* ptt = (int*)j.P4, slots = (int*)j.P5;
        for (int r = begin; r < end; r++)
        {
            float scale = w == null ? 1f : RoutingWeight(ptt, slots, w, k, r);
            long o = (long)r * width;
            Activation.SwiGluRow(g + o, u + o, a + o, width, j.F0, scale);
        }
    }

    /// <summary>The routing weight of row <paramref name="r"/> of Xp: its token's weight for its slot, 0 for a padding row.</summary>
    private static float RoutingWeight(int* posToToken, int* posToSlot, float* weights, int k, int r)
    {
        int t = posToToken[r];
        return t < 0 ? 0f : weights[(long)t * k + posToSlot[r]];
    }

    /// <summary>OP-17a/b: the whole weight as fp32.</summary>
    private static void Dequantize(WeightMatrix w, CpuBuffer y)
    {
        for (int e = 0; e < w.Experts; e++)
        {
            for (int n = 0; n < w.Out; n++)
            {
                w.DequantRow(e, n, new Span<float>(y.F32 + ((long)e * w.Out + n) * w.In, w.In));
            }
        }
    }

    /// <summary>Weight bytes a decode tile covers at most (<see cref="ColumnChunk"/>).</summary>
    private const long DecodeTileBytes = 256 << 10;

    /// <summary>
    /// Weight bytes behind one output column when every segment has at most two rows of X (decode:
    /// the tile streams its weights once), else 0.
    /// </summary>
    private static long DecodeColumnBytes(int widestSegment, in WeightMatrix w, bool pair) =>
        widestSegment is > 0 and <= 2 ? w.RowBytes * (pair ? 2 : 1) : 0;

    /// <summary>
    /// Output columns per tile. Decode tiles (<paramref name="columnBytes"/> above 0) take as many
    /// columns as fit <see cref="DecodeTileBytes"/> of weights, at most 256: on the DeepSeek-V4-Flash
    /// down projection (1 KB FP4 rows), alternating in one process, this rule (256 columns) ran it in
    /// 0.80 ms where 32 columns took 0.94 ms, and in another run 128 columns in 0.98 ms where 32 took
    /// 1.38 ms. Other tiles take 32 columns (64 weight
    /// rows in pair mode). Either is halved while the tiles are too few to keep every thread busy,
    /// never below the kernel's step.
    /// </summary>
    private int ColumnChunk(int outDim, int experts, int step, long columnBytes)
    {
        int chunk = 32;
        if (columnBytes > 0)
        {
            chunk = 256;
            while (chunk > step && chunk * columnBytes > DecodeTileBytes)
            {
                chunk /= 2;
            }
        }

        while (chunk > step && (long)experts * ((outDim + chunk - 1) / chunk) < 8L * Threads)
        {
            chunk /= 2;
        }

        return Math.Max(step, chunk);
    }

    private void RunGemm()
    {
        _gemm.Seal(Threads);
        if (_gemm.Rows.BlockCount > 0)
        {
            _gemm.Rows.Seal();
            _pool.Run(_gemm.Rows);
            if (_gemm.Rows.Exceeded)
            {
                // An activation too large for the one-multiply fp8 decoders: pack again unscaled.
                _gemm.Rows.Factor = 1f;
                _gemm.Rows.Seal();
                _pool.Run(_gemm.Rows);
            }
        }

        if (_gemm.AmxRows.BlockCount > 0)
        {
            _gemm.AmxRows.Seal();
            _pool.Run(_gemm.AmxRows);
        }

        _pool.Run(_gemm);
    }

    private static void Clear(CpuBuffer y, int fromRow, int toRow, int width)
    {
        if (toRow > fromRow)
        {
            new Span<float>(y.F32 + (long)fromRow * width, checked((toRow - fromRow) * width)).Clear();
        }
    }
}
