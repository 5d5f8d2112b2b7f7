using System.Runtime.InteropServices;
using Accel.Backends.Cpu.Amx;

namespace Accel.Cpu.Tests;

/// <summary>The AMX micro-kernel against double-precision sums (runs only where AMX is available).</summary>
public sealed unsafe class AmxKernelTests
{
    [TestCase(true, 2, 1024, 32)]
    [TestCase(true, 1, 512, 9)]
    [TestCase(true, 2, 32, 20)]
    [TestCase(false, 2, 1024, 32)]
    [TestCase(false, 1, 64, 16)]
    public void KernelMatchesDoubleSums(bool fp32Weights, int rowTiles, int k, int rows)
    {
        if (!AmxRuntime.IsAvailable)
        {
            Assert.Ignore($"AMX not available: {AmxRuntime.WhyUnavailable}");
        }

        var rng = new Random(1234 + k + rows);
        long lda = AmxPack.RowBytes(k);
        int padded = 16 * rowTiles;
        byte* a = (byte*)NativeMemory.AlignedAlloc((nuint)(lda * padded), 64);
        byte* b = (byte*)NativeMemory.AlignedAlloc((nuint)(k / 32 * AmxKernel.BlockBytes(fp32Weights)), 64);
        float* x = (float*)NativeMemory.AlignedAlloc((nuint)(k * padded * 4), 64);
        float* w = (float*)NativeMemory.AlignedAlloc((nuint)(k * 32 * 4), 64);
        ushort* wb = (ushort*)NativeMemory.AlignedAlloc((nuint)(k * 32 * 2), 64);
        float* c = (float*)NativeMemory.AlignedAlloc(32 * 32 * 4, 64);
        try
        {
            new Span<byte>(a, (int)(lda * padded)).Clear();
            for (int i = 0; i < k * padded; i++) { x[i] = (float)(rng.NextDouble() * 2 - 1); }

            // Two 16-column panels, k-major: panel p, input i, column j at p * 16k + i * 16 + j.
            for (int i = 0; i < k * 32; i++)
            {
                float v = (float)(rng.NextDouble() * 2 - 1) * 0.05f;
                wb[i] = (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16);
                w[i] = fp32Weights ? v : BitConverter.UInt32BitsToSingle((uint)wb[i] << 16);
            }

            for (int r = 0; r < rows; r++) { AmxPack.SplitRow(x + (long)r * k, a + r * lda, k); }

            for (int p = 0; p < 2; p++)
            {
                if (fp32Weights) { AmxPack.ExpandSplit<Accel.Backends.Cpu.Kernels.F32Format>((byte*)(w + (long)p * 16 * k), null, k, b, p); }
                else { AmxPack.ExpandBF16(wb + (long)p * 16 * k, k, b, p); }
            }

            var args = new AmxArgs { A = a, A2 = a + 16 * lda, Lda = lda, B = b, KBlocks = k / 32, C = c, C2 = c + 16 * 32, Ldc = 128 };
            AmxKernel.Get(fp32Weights, rowTiles, k).Run(&args);
            double worst = 0;
            for (int r = 0; r < rows; r++)
            {
                for (int n = 0; n < 32; n++)
                {
                    double sum = 0, mag = 0;
                    for (int i = 0; i < k; i++)
                    {
                        double t = (double)x[(long)r * k + i] * w[(long)(n / 16) * 16 * k + (long)i * 16 + n % 16];
                        sum += t;
                        mag += Math.Abs(t);
                    }

                    worst = Math.Max(worst, Math.Abs(c[r * 32 + n] - sum) / mag);
                }
            }

            // fp32 GEMM rounding: a few units of 2^-24 of the sum of magnitudes.
            Assert.That(worst, Is.LessThan(1e-6), $"worst error relative to the sum of |products|: {worst:E2}");
        }
        finally
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(x);
            NativeMemory.AlignedFree(w);
            NativeMemory.AlignedFree(wb);
            NativeMemory.AlignedFree(c);
        }
    }
}
