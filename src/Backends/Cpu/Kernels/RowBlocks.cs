using System.Runtime.CompilerServices;
namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// The activations of a panel product, in blocks of up to <see cref="PanelKernel.MaxRows"/> rows
/// packed k-major: block b with n rows holds x[row + r, k] at <c>Block(b)[k * n + r]</c>, so the
/// kernel broadcasts from one pointer that advances by n per step.
/// </summary>
internal sealed unsafe class RowBlocks : PackedRows
{
    public override int BlockRows => PanelKernel.MaxRows;

    /// <summary>The factor the rows are multiplied by as they are packed (1, or 2^90 for the one-multiply fp8 decoders).</summary>
    public float Factor { get; set; } = 1f;

    /// <summary>The packed data of block <paramref name="index"/>.</summary>
    public float* Block(int index) => (float*)Data(index);

    protected override long BlockBytes(int rows) => (long)rows * K * sizeof(float);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Pack(int row, int n, byte* dst)
    {
        int k = K;
        for (int r = 0; r < n; r++)
        {
            float* src = X + (nint)(row + r) * Ldx;
            float* d = (float*)dst + r;
            float f = Factor;
            for (int i = 0; i < k; i++)
            {
                d[(nint)i * n] = src[i] * f;
            }
        }
    }
}
