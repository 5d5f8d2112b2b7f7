using System.Runtime.InteropServices;

namespace Accel.Backends.Cpu.Kernels;

internal sealed unsafe partial class GemmJob
{
    /// <summary>Activation rows per packed panel (3 vectors of 16).</summary>
    public const int PanelRows = 48;

    /// <summary>Segments with at least this many rows use the packed kernel (env ACCEL_CPU_PACKED_ROWS overrides).</summary>
    public static readonly int PackedMinRows =
        int.TryParse(Environment.GetEnvironmentVariable("ACCEL_CPU_PACKED_ROWS"), out int v) ? v : 24;

    private nint[] _panels = [];
    private long[] _panelBytes = [];

    /// <summary>
    /// One prefill tile: the panel of X rows is transposed once into per-thread scratch (zero
    /// padded to a multiple of 16 rows), then every 8 weight rows (4 gate + 4 up in pair mode)
    /// are streamed past it; the tile is written back transposed, through the SwiGLU epilogue in
    /// pair mode.
    /// </summary>
    private void RunPacked(GemmTask t, int worker)
    {
        int rows = t.M1 - t.M0, vectors = (rows + 15) / 16, ld = vectors * 16, k = Gate.In;
        float* xt = Panel(worker, (long)k * ld * 4);
        for (int j = 0; j < ld; j++)
        {
            if (j < rows)
            {
                float* src = X + (nint)(t.M0 + j) * Ldx;
                for (int kk = 0; kk < k; kk++) { xt[(nint)kk * ld + j] = src[kk]; }
            }
            else
            {
                for (int kk = 0; kk < k; kk++) { xt[(nint)kk * ld + j] = 0; }
            }
        }

        float** w = stackalloc float*[8];
        float* c = stackalloc float[8 * PanelRows];
        int step = Pair ? 4 : 8, last = t.N1 - 1;
        for (int n = t.N0; n < t.N1; n += step)
        {
            for (int i = 0; i < 8; i++)
            {
                w[i] = Pair
                    ? (float*)(i < 4 ? Gate : Up).Row(t.Expert, Math.Min(n + (i & 3), last))
                    : (float*)Gate.Row(t.Expert, Math.Min(n + i, last));
            }

            switch (vectors)
            {
                case 3: PackedKernel.Run<V3>(xt, k, w, c); break;
                case 2: PackedKernel.Run<V2>(xt, k, w, c); break;
                default: PackedKernel.Run<V1>(xt, k, w, c); break;
            }

            int width = Math.Min(step, t.N1 - n);
            for (int j = 0; j < rows; j++)
            {
                float* dst = Y + (nint)(t.M0 + j) * Ldy + n;
                float s = ScaleOf(t.M0 + j);
                for (int i = 0; i < width; i++)
                {
                    dst[i] = Pair ? Activation.SwiGlu(c[i * ld + j], c[(i + 4) * ld + j], Limit) * s : c[i * ld + j];
                }
            }
        }
    }

    private float* Panel(int worker, long bytes)
    {
        if (_panelBytes[worker] < bytes)
        {
            if (_panels[worker] != 0)
            {
                NativeMemory.AlignedFree((void*)_panels[worker]);
            }

            _panels[worker] = (nint)NativeMemory.AlignedAlloc((nuint)bytes, 64);
            _panelBytes[worker] = bytes;
        }

        return (float*)_panels[worker];
    }

    /// <summary>Frees the per-thread panels.</summary>
    public void FreePanels()
    {
        for (int i = 0; i < _panels.Length; i++)
        {
            if (_panels[i] != 0)
            {
                NativeMemory.AlignedFree((void*)_panels[i]);
                _panels[i] = 0;
                _panelBytes[i] = 0;
            }
        }
    }
}
