using System.Runtime.InteropServices;

namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// The CPU backend's weight layout for the panel kernel: a weight [E, out, in] stored row-major is
/// rewritten as [E, out/16, in, 16], so the 16 weights of 16 consecutive output columns at one
/// input index are adjacent (one vector load, one contiguous stream per panel). Only formats
/// with one element per byte-aligned slot (fp32, bf16, fp8) and <c>out</c> a multiple of 16 are
/// rewritten; scales keep their layout (an fp8 128 x 128 block covers whole panels).
/// </summary>
internal static unsafe class PanelLayout
{
    /// <summary>Output columns per panel.</summary>
    public const int Width = 16;

    /// <summary>Whether a weight of this format and output size is rewritten into panels.</summary>
    public static bool Eligible(WeightFormat format, long outDim) =>
        format is WeightFormat.F32 or WeightFormat.BF16 or WeightFormat.Fp8F32Scale or WeightFormat.Fp8E8Scale
        && outDim > 0 && outDim % Width == 0;

    /// <summary>Bytes per element of a format that <see cref="Eligible"/> accepts.</summary>
    public static int ElementSize(WeightFormat format) => format switch
    {
        WeightFormat.F32 => 4,
        WeightFormat.BF16 => 2,
        _ => 1,
    };

    /// <summary>Rewrites <paramref name="experts"/> row-major matrices at <paramref name="data"/> into panels, in place.</summary>
    public static void Pack(byte* data, int experts, int outDim, int inDim, int elementSize) =>
        Convert(data, data, experts, outDim, inDim, elementSize, toPanels: true);

    /// <summary>Rewrites panels at <paramref name="data"/> back into row-major matrices, in place.</summary>
    public static void Unpack(byte* data, int experts, int outDim, int inDim, int elementSize) =>
        Convert(data, data, experts, outDim, inDim, elementSize, toPanels: false);

    /// <summary>Writes the row-major form of the panels at <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static void UnpackTo(byte* source, byte* destination, int experts, int outDim, int inDim, int elementSize) =>
        Convert(source, destination, experts, outDim, inDim, elementSize, toPanels: false);

    /// <summary>Byte offset of element (n, k) of one expert's matrix in the panel layout.</summary>
    public static long Offset(int n, int k, int inDim, int elementSize) =>
        (((long)(n / Width) * inDim + k) * Width + n % Width) * elementSize;

    private static void Convert(byte* source, byte* destination, int experts, int outDim, int inDim, int es, bool toPanels)
    {
        long matrix = (long)outDim * inDim * es;
        byte* copy = (byte*)NativeMemory.AlignedAlloc((nuint)matrix, 64);
        try
        {
            for (int e = 0; e < experts; e++)
            {
                byte* src = source + e * matrix, dst = destination + e * matrix;
                Buffer.MemoryCopy(src, copy, matrix, matrix);
                switch (es)
                {
                    case 4: Shuffle((int*)copy, (int*)dst, outDim, inDim, toPanels); break;
                    case 2: Shuffle((short*)copy, (short*)dst, outDim, inDim, toPanels); break;
                    default: Shuffle(copy, dst, outDim, inDim, toPanels); break;
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(copy);
        }
    }

    private static void Shuffle<T>(T* from, T* to, int outDim, int inDim, bool toPanels) where T : unmanaged
    {
        for (int p = 0; p < outDim / Width; p++)
        {
            T* panel = (toPanels ? to : from) + (long)p * inDim * Width;
            T* rows = (toPanels ? from : to) + (long)p * Width * inDim;
            for (int j = 0; j < Width; j++)
            {
                T* row = rows + (long)j * inDim;
                if (toPanels)
                {
                    for (int k = 0; k < inDim; k++) { panel[(long)k * Width + j] = row[k]; }
                }
                else
                {
                    for (int k = 0; k < inDim; k++) { row[k] = panel[(long)k * Width + j]; }
                }
            }
        }
    }
}
