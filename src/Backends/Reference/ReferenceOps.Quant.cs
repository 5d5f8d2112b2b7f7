using Accel.Types;

namespace Accel.Backends.Reference;

public static partial class ReferenceOps
{
    /// <summary>OP-17a / OP-17b: the whole weight dequantised to fp32, row by row.</summary>
    public static void Dequantize(WeightView w, Span<float> result)
    {
        int din = (int)w.In;
        for (long e = 0; e < w.Experts; e++)
        {
            for (long o = 0; o < w.Out; o++)
            {
                w.DequantRow(e, o, result.Slice((int)((e * w.Out + o) * din), din));
            }
        }
    }

    /// <summary>
    /// OP-17c: per row and 128 columns, s = max(max|x|, 1e-4) / 448 (rounded up to a power of two
    /// when asked), xq = e4m3(clamp(x / s, -448, 448)).
    /// </summary>
    public static void ActQuantFp8(ReadOnlySpan<float> x, Span<byte> xq, Span<float> scales, int cols, bool powerOfTwo)
    {
        int rows = cols == 0 ? 0 : x.Length / cols;
        int blocks = cols / 128;
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                var xs = x.Slice(r * cols + b * 128, 128);
                float amax = 1e-4f;
                foreach (float v in xs) { amax = Math.Max(amax, Math.Abs(v)); }
                float s = amax / 448f;
                if (powerOfTwo) { s = MathF.Pow(2, MathF.Ceiling(MathF.Log2(s))); }
                scales[r * blocks + b] = s;
                for (int i = 0; i < 128; i++)
                {
                    xq[r * cols + b * 128 + i] = NumericFormats.F32ToE4M3(Math.Clamp(xs[i] / s, -448f, 448f));
                }
            }
        }
    }
}
