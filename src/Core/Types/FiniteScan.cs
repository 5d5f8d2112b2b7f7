using System.Numerics;
using System.Runtime.InteropServices;

namespace Accel.Types;

/// <summary>Finds non-finite values (NaN, infinities) in fp32 data, a vector at a time.</summary>
public static class FiniteScan
{
    /// <summary>
    /// The index of the first value of <paramref name="values"/> that is NaN or infinite, or -1
    /// when every value is finite.
    /// </summary>
    public static int FirstNonFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            // x - x is 0 for a finite x and NaN otherwise; a block with a NaN sum holds the culprit.
            const int Block = 1024;
            ref float start = ref MemoryMarshal.GetReference(values);
            int width = Vector<float>.Count;
            for (; i + Block <= values.Length; i += Block)
            {
                var sum = Vector<float>.Zero;
                for (int j = 0; j < Block; j += width)
                {
                    var x = Vector.LoadUnsafe(ref start, (nuint)(i + j));
                    sum += x - x;
                }

                if (!Vector.EqualsAll(sum, Vector<float>.Zero))
                {
                    break;
                }
            }
        }

        for (; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                return i;
            }
        }

        return -1;
    }
}
