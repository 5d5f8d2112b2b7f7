using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// The FP4 decode kernel on AVX-VNNI integer dot products (<c>vpdpbusd</c>, 32 byte products per
/// instruction). An e2m1 code is an integer after doubling (-12 .. 12), so a 16-entry byte table
/// (<c>vpshufb</c>) turns a nibble into that integer plus 12; each 32-column block of an activation
/// row is held as up to three int8 terms, <c>x = d/32768 * (32768 * q1 + 128 * q2 + q3)</c> with
/// <c>d = max|x| / 127</c> (radix 256 for the second term, 128 for the third, so that no term ever
/// needs 128), so with all three the activations keep 22 bits against their block's largest value
/// (an error of at most <c>d/65536</c> per element, <c>d/32768</c> where <c>x/d</c> is a half-integer;
/// a few fp32 ulps of the block's largest) while the weights stay exact. Fewer terms
/// (<see cref="TermBits"/>: 16 bits with two, 8 with one, as ggml's Q8_0 activations) take fewer dot
/// products: the error bound is <see cref="TermError"/> times <c>d</c>.
/// Per 64 weights and weight row: three ops to split nibbles, two lookups, two dot products per
/// term, and one conversion and multiply-add for the two scale blocks, about two thirds of the
/// vector work of <see cref="Fp4Kernel"/> with three terms. Used for segments of one or two rows (decode).
/// </summary>
internal static unsafe class Fp4VnniKernel
{
    /// <summary>Bytes of one quantized 64-column chunk of a row: three terms, lane corrections, lane scales.</summary>
    public const int ChunkBytes = 256;

    /// <summary>2 * e2m1 + 12 for the 16 codes (the +12 keeps the table unsigned for vpdpbusd).</summary>
    private static Vector256<byte> Table
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector256.Create(
            (byte)12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0,
            12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0);
    }

    /// <summary>Spreads two scale bytes to the dword lanes of their blocks: lanes 0-3 byte 0, lanes 4-7 byte 1.</summary>
    private static Vector256<byte> ScaleSpread
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector256.Create(
            (byte)0, 0x80, 0x80, 0x80, 0, 0x80, 0x80, 0x80, 0, 0x80, 0x80, 0x80, 0, 0x80, 0x80, 0x80,
            1, 0x80, 0x80, 0x80, 1, 0x80, 0x80, 0x80, 1, 0x80, 0x80, 0x80, 1, 0x80, 0x80, 0x80);
    }

    /// <summary>Whether this processor has the instructions (AVX2 and AVX-VNNI, and AVX-512F for the quantizer).</summary>
    public static bool IsSupported => Avx2.IsSupported && AvxVnni.IsSupported && Avx512F.IsSupported;

    /// <summary>Activation bits against the block's largest value for 1, 2 or 3 terms (8, 16, 22).</summary>
    public static int TermBits(int terms) => terms switch { 1 => 8, 2 => 16, 3 => 22, _ => throw BadTerms(terms) };

    /// <summary>The terms that hold <paramref name="bits"/> activation bits (8, 16 or 22), the inverse of <see cref="TermBits"/>; null for any other count.</summary>
    public static int? TermsFor(int bits) => bits switch { 8 => 1, 16 => 2, 22 => 3, _ => null };

    /// <summary>The largest error of one quantized activation in units of its block's step d, for 1, 2 or 3 terms.</summary>
    public static double TermError(int terms) => terms switch { 1 => 0.5, 2 => 1.0 / 256, 3 => 1.0 / 32768, _ => throw BadTerms(terms) };

    private static ArgumentOutOfRangeException BadTerms(int terms) =>
        new(nameof(terms), terms, "activations are held in 1, 2 or 3 int8 terms");

    /// <summary>Whether rows of <paramref name="k"/> columns fit (whole 64-column chunks).</summary>
    public static bool Fits(int k) => k % 64 == 0;

    /// <summary>Bytes of <paramref name="rows"/> quantized rows of <paramref name="k"/> columns.</summary>
    public static long Bytes(int rows, int k) => (long)rows * (k / 64) * ChunkBytes;

    /// <summary>
    /// Quantizes <paramref name="rows"/> rows of <paramref name="k"/> floats (stride <paramref name="ldx"/>)
    /// into <paramref name="dst"/> (<see cref="Bytes"/>) in chunks of <paramref name="chunkColumns"/>
    /// columns (64 for this kernel, 128 for <see cref="Vnni.Fp4Vnni512Kernel"/>; k a multiple of it)
    /// as <paramref name="terms"/> int8 terms (1-3, the kernel's count); false, leaving the kernels
    /// unused, when a value is not finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool Quantize(float* x, int ldx, int rows, int k, byte* dst, int chunkColumns = 64, int terms = 3)
    {
        if (chunkColumns is not (64 or 128) || k % chunkColumns != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkColumns), chunkColumns, $"chunks are 64 or 128 columns and divide k ({k})");
        }

        if (terms is < 1 or > 3)
        {
            throw BadTerms(terms);
        }

        for (int r = 0; r < rows; r++)
        {
            float* s = x + (nint)r * ldx;
            for (int c = 0; c < k; c += chunkColumns)
            {
                if (!QuantizeChunk(s + c, dst, chunkColumns / 32, terms))
                {
                    return false;
                }

                dst += 4 * chunkColumns;
            }
        }

        return true;
    }

    /// <summary>
    /// One chunk of <paramref name="blocks"/> 32-column blocks (C = 32 * blocks columns). Layout:
    /// for each term q1, q2, q3, C bytes: the even columns of every block (16 bytes per block), then
    /// the odd ones (matching the low and high nibbles of the C/2 weight bytes; unused terms are
    /// zero); then C/8 int32 lane corrections (-12 times the lane's combined terms, the table
    /// offset); then C/8 fp32 lane scales (half the scale of the lane's combined terms, 1/2 for the
    /// codes). The combination is <c>(q1 &lt;&lt; 15) + (q2 &lt;&lt; 7) + q3</c> (scale d/65536) with
    /// three terms, <c>(q1 &lt;&lt; 8) + q2</c> (d/512) with two, <c>q1</c> (d/2) with one. Lane i
    /// (eight columns) is block i/4, columns 8(i%4) to 8(i%4)+7. The terms are found in double
    /// precision, so each is the exact rounding of what is left.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool QuantizeChunk(float* x, byte* dst, int blocks, int terms)
    {
        int columns = 32 * blocks;
        sbyte* q = (sbyte*)dst;
        int* corr = (int*)(dst + 3 * columns);
        float* scale = (float*)(dst + 3 * columns + columns / 2);
        int* q1 = stackalloc int[8], q2 = stackalloc int[8], q3 = stackalloc int[8];
        for (int block = 0; block < blocks; block++)
        {
            float* v = x + 32 * block;
            var lo = Vector512.Load(v);
            var hi = Vector512.Load(v + 16);
            if (!Vector512.EqualsAll((lo - lo) + (hi - hi), Vector512<float>.Zero))
            {
                return false; // an infinity or NaN (x - x is NaN for both)
            }

            var m = Vector512.Max(Vector512.Abs(lo), Vector512.Abs(hi));
            var h = Vector256.Max(m.GetLower(), m.GetUpper());
            var f = Vector128.Max(h.GetLower(), h.GetUpper());
            float max = MathF.Max(MathF.Max(f[0], f[1]), MathF.Max(f[2], f[3]));

            float d = max / 127f;
            float laneScale = terms switch { 1 => d / 2f, 2 => d / 512f, _ => d / 65536f };
            var inv = Vector512.Create(d > 0 ? 1.0 / d : 0.0);
            for (int g = 0; g < 4; g++)
            {
                // Eight columns 8g .. 8g+7 of the block: one int32 lane of the dot products.
                var y = Avx512F.ConvertToVector512Double(Vector256.Load(v + 8 * g)) * inv;
                var t1 = Vector512.Round(y);
                var r2 = (y - t1) * 256.0;
                var t2 = terms < 2 ? default : Vector512.Clamp(Vector512.Round(r2), Vector512.Create(-127.0), Vector512.Create(127.0));
                var t3 = terms < 3 ? default : Vector512.Clamp(Vector512.Round((r2 - t2) * 128.0), Vector512.Create(-127.0), Vector512.Create(127.0));
                Avx512F.ConvertToVector256Int32(t1).Store(q1);
                Avx512F.ConvertToVector256Int32(t2).Store(q2);
                Avx512F.ConvertToVector256Int32(t3).Store(q3);
                int sum = 0;
                for (int c = 0; c < 8; c++)
                {
                    // Column 2i goes with the low nibble of byte i, column 2i+1 with the high one.
                    int j = 8 * g + c;
                    int at = (j & 1) * (columns / 2) + block * 16 + (j >> 1);
                    q[at] = (sbyte)q1[c];
                    q[columns + at] = (sbyte)q2[c];
                    q[2 * columns + at] = (sbyte)q3[c];
                    sum += terms switch { 1 => q1[c], 2 => 256 * q1[c] + q2[c], _ => 32768 * q1[c] + 128 * q2[c] + q3[c] };
                }

                corr[4 * block + g] = -12 * sum;
                scale[4 * block + g] = laneScale;
            }
        }

        return true;
    }

    /// <summary>tile[r * 4 + n] = sum_k x[r, k] * W[n, k] for r &lt; TR.Count (1 or 2); x quantized by <see cref="Quantize"/> with TT.Count terms.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TR, TT>(byte* xq, long ldq, WeightRows4* w, int kLength, float* tile, nint prefetch)
        where TR : struct, IRowCount
        where TT : struct, IRowCount
    {
        var z = Vector256<float>.Zero;
        Vector256<float> a00 = z, a01 = z, a02 = z, a03 = z, a10 = z, a11 = z, a12 = z, a13 = z;
        byte* q0 = xq, q1 = xq + ldq;
        Vector256<byte> table = Table, spread = ScaleSpread;
        for (int k = 0; k < kLength; k += 64)
        {
            nint at = k >> 1;
            if (prefetch != 0 && (k & 127) == 0)
            {
                Sse.Prefetch0(w->R0 + prefetch + at);
                Sse.Prefetch0(w->R1 + prefetch + at);
                Sse.Prefetch0(w->R2 + prefetch + at);
                Sse.Prefetch0(w->R3 + prefetch + at);
            }

            int b = k >> 5;
            Row(w->R0 + at, w->S0 + b, q0, q1, table, spread, ref a00, ref a10);
            Row(w->R1 + at, w->S1 + b, q0, q1, table, spread, ref a01, ref a11);
            Row(w->R2 + at, w->S2 + b, q0, q1, table, spread, ref a02, ref a12);
            Row(w->R3 + at, w->S3 + b, q0, q1, table, spread, ref a03, ref a13);
            q0 += ChunkBytes;
            q1 += ChunkBytes;
        }

        Reduce4(a00, a01, a02, a03).Store(tile);
        if (TR.Count > 1)
        {
            Reduce4(a10, a11, a12, a13).Store(tile + 4);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Row(byte* weights, byte* scales, byte* q0, byte* q1, Vector256<byte> table, Vector256<byte> spread, ref Vector256<float> acc0, ref Vector256<float> acc1)
        {
            var v = Vector256.Load(weights);
            var mask = Vector256.Create((byte)0x0F);
            var even = Avx2.Shuffle(table, v & mask);
            var odd = Avx2.Shuffle(table, Avx2.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & mask);
            var s = Avx2.ShiftLeftLogical(Avx2.Shuffle(Vector256.Create(*(ushort*)scales).AsByte(), spread).AsInt32(), 23).AsSingle();
            acc0 = Chunk<TT>(even, odd, s, q0, acc0);
            if (TR.Count > 1)
            {
                acc1 = Chunk<TT>(even, odd, s, q1, acc1);
            }
        }
    }

    /// <summary>acc + (the chunk's two blocks of products, per lane) times their scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Chunk<TT>(Vector256<byte> even, Vector256<byte> odd, Vector256<float> weightScale, byte* q,
        Vector256<float> acc)
        where TT : struct, IRowCount
    {
        // |sum t * Q| <= 8 * 12 * 127 * 32897 per lane fits an int32, so the combination is exact.
        // The lane corrections start the last term's sum.
        var corrections = Vector256.Load((int*)(q + 192));
        var t1 = AvxVnni.MultiplyWideningAndAdd(TT.Count == 1 ? corrections : Vector256<int>.Zero, even, Vector256.Load((sbyte*)q));
        t1 = AvxVnni.MultiplyWideningAndAdd(t1, odd, Vector256.Load((sbyte*)q + 32));
        Vector256<int> sum = t1;
        if (TT.Count > 1)
        {
            var t2 = AvxVnni.MultiplyWideningAndAdd(TT.Count == 2 ? corrections : Vector256<int>.Zero, even, Vector256.Load((sbyte*)q + 64));
            t2 = AvxVnni.MultiplyWideningAndAdd(t2, odd, Vector256.Load((sbyte*)q + 96));
            if (TT.Count == 2)
            {
                sum = Avx2.ShiftLeftLogical(t1, 8) + t2;
            }
            else
            {
                var t3 = AvxVnni.MultiplyWideningAndAdd(corrections, even, Vector256.Load((sbyte*)q + 128));
                t3 = AvxVnni.MultiplyWideningAndAdd(t3, odd, Vector256.Load((sbyte*)q + 160));
                sum = Avx2.ShiftLeftLogical(t1, 15) + Avx2.ShiftLeftLogical(t2, 7) + t3;
            }
        }

        return Fma.MultiplyAdd(Avx2.ConvertToVector256Single(sum), weightScale * Vector256.Load((float*)(q + 224)), acc);
    }

    /// <summary>The four horizontal sums of a, b, c, d as one 128-bit vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Reduce4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        var ab = Avx.HorizontalAdd(a, b);
        var cd = Avx.HorizontalAdd(c, d);
        var abcd = Avx.HorizontalAdd(ab, cd);
        return abcd.GetLower() + abcd.GetUpper();
    }
}
