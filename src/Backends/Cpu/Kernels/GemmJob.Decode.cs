using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Accel.Backends.Cpu.Vnni;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>The activations as the row kernels want them, prepared once per op before the tiles run.</summary>
internal sealed unsafe partial class GemmJob
{
    /// <summary>
    /// Before the tiles run, the activation rows [0, <paramref name="rows"/>) as the row kernels of
    /// this weight want them (once per op, shared by every tile): for FP4, split per 32-column block
    /// for <see cref="Fp4Kernel"/>; for fp8 whose scales allow it, times 2^90 for the one-multiply
    /// decoders (unless an activation is too large for that).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PrepareRows(int rows)
    {
        bool fp4 = Gate.Format == WeightFormat.Fp4 && Fp4Kernel.Fits(Gate.In);
        bool fp8 = Fp8Fast;
        bool bf16 = Gate.Format == WeightFormat.BF16 && Bf16Dot;
        if (Portable || Gate.Panels || rows == 0 || !(fp4 || fp8 || bf16))
        {
            return;
        }

        long floats = (long)rows * Gate.In;
        float* buffer = (float*)_rowsBuffer.Ensure(floats * sizeof(float));
        if (bf16)
        {
            // Two bf16 terms per activation, hi rows then lo rows, in the float buffer (same bytes).
            _bf16Hi = (ushort*)buffer;
            _bf16Lo = _bf16Hi + floats;
            for (int r = 0; r < rows; r++)
            {
                Bf16.Bf16Split.SplitRow(X + (nint)r * Ldx, _bf16Hi + (nint)r * Gate.In, _bf16Lo + (nint)r * Gate.In, Gate.In);
            }
        }
        else if (fp4)
        {
            // The split rows serve the tiles that the VNNI kernel does not take (decode usually has none).
            QuantizeRows(rows);
            if (_quantized == null || HasRowTilesAbove(VnniMaxRows))
            {
                Fp4Kernel.SplitRows(X, Ldx, rows, Gate.In, buffer);
                _split = buffer;
            }
        }
        else if (ScaleRows(X, Ldx, rows, Gate.In, buffer))
        {
            _scaled = buffer;
        }
    }

    /// <summary>Rows of a tile up to which <see cref="Fp4VnniKernel"/> runs it.</summary>
    private const int VnniMaxRows = 2;

    /// <summary>Whether a row-kernel tile (not panel, not AMX) has more than <paramref name="rows"/> rows.</summary>
    private bool HasRowTilesAbove(int rows)
    {
        for (int i = 0; i < TaskCount; i++)
        {
            var t = _tasks[i];
            if (!t.Panel && !t.Amx && t.M1 - t.M0 > rows)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether the weights are fp8 with scales that allow the one-multiply decoders.</summary>
    private bool Fp8Fast => Gate.Format is WeightFormat.Fp8F32Scale or WeightFormat.Fp8E8Scale && Gate.FastScales && (!Pair || Up.FastScales);

    /// <summary>Whether every |x| in the rows is below <paramref name="limit"/> (NaN and infinities are not).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool RowsWithin(float* x, int ldx, int rows, int k, float limit)
    {
        var l = Vector512.Create(limit);
        for (int r = 0; r < rows; r++)
        {
            float* s = x + (nint)r * ldx;
            int c = 0;
            for (; c + 16 <= k; c += 16)
            {
                if (!Vector512.LessThanAll(Vector512.Abs(Vector512.Load(s + c)), l))
                {
                    return false;
                }
            }

            for (; c < k; c++)
            {
                if (!(MathF.Abs(s[c]) < limit))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>dst = x * 2^90 (exact) unless some |x| reaches <see cref="Fp8.XLimit"/> or is not finite (then false).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool ScaleRows(float* x, int ldx, int rows, int k, float* dst)
    {
        if (!RowsWithin(x, ldx, rows, k, Fp8.XLimit))
        {
            return false;
        }

        for (int r = 0; r < rows; r++)
        {
            float* s = x + (nint)r * ldx;
            float* d = dst + (nint)r * k;
            for (int c = 0; c < k; c++)
            {
                d[c] = s[c] * Fp8.XScale;
            }
        }

        return true;
    }

    /// <summary>
    /// The activations as <see cref="Fp4Vnni512Kernel"/> (128-column chunks) or else
    /// <see cref="Fp4VnniKernel"/> (64) reads them, where one of them may run.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void QuantizeRows(int rows)
    {
        bool zmm = Vnni512 && Fp4Vnni512Kernel.Fits(Gate.In);
        if (!(zmm || (Vnni && Fp4VnniKernel.Fits(Gate.In))) || !Gate.FastScales || (Pair && !Up.FastScales))
        {
            return;
        }

        byte* buffer = _quantBuffer.Ensure(Fp4VnniKernel.Bytes(rows, Gate.In));
        int chunk = zmm ? Fp4Vnni512Kernel.ChunkColumns : 64;

        // Only the rows of tiles that the VNNI kernel runs (segments of one or two rows; in the quad
        // layout every tile below the panels) are quantized; a tile of many rows stays on the FMA kernel.
        long ld = Fp4VnniKernel.Bytes(1, Gate.In);
        int done = -1;
        for (int i = 0; i < TaskCount; i++)
        {
            var t = _tasks[i];
            if (t.Panel || t.Amx || (t.M1 - t.M0 > VnniMaxRows && !(zmm && Gate.Quads)) || t.M0 <= done)
            {
                continue;
            }

            if (!Fp4VnniKernel.Quantize(X + (nint)t.M0 * Ldx, Ldx, t.M1 - t.M0, Gate.In, buffer + t.M0 * ld, chunk, Fp4Terms))
            {
                return;
            }

            done = Math.Max(done, t.M1 - 1);
        }

        _quantized = buffer;
        _quantizedLd = ld;
        if (zmm)
        {
            _zmmOne = Fp4Vnni512Kernel.Get(1, DecodePrefetch, Fp4Terms, Gate.Quads);
            _zmmTwo = Fp4Vnni512Kernel.Get(2, DecodePrefetch, Fp4Terms, Gate.Quads);
            _zmmDual = Gate.Quads && Fp4TwoGroups ? Fp4Vnni512Kernel.Get(1, DecodePrefetch, Fp4Terms, quads: true, dual: true) : null;
        }
    }

    /// <summary>How far ahead (bytes) decode tiles prefetch their weight rows.</summary>
    private nint DecodePrefetch => (nint)(PrefetchBlocks * (Pair ? 2 : 4) * Gate.RowBytes);
}
