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

    private float _factor = 1f;
    private int _exceeded;

    /// <summary>
    /// The factor the rows are multiplied by as they are packed: 1, or <see cref="Fp8.XScale"/> for
    /// the one-multiply fp8 decoders, in which case packing also checks every |x| against
    /// <see cref="Fp8.XLimit"/>, and every non-zero |x| against <see cref="Fp8.XFloor"/>
    /// (<see cref="Exceeded"/>). Setting it clears that flag.
    /// </summary>
    public float Factor
    {
        get => _factor;
        set
        {
            _factor = value;
            Volatile.Write(ref _exceeded, 0);
        }
    }

    /// <summary>Whether the last packing with a factor met an activation too large (or not finite) for it.</summary>
    public bool Exceeded => Volatile.Read(ref _exceeded) != 0;

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
            float f = _factor;
            if (f == 1f)
            {
                for (int i = 0; i < k; i++)
                {
                    d[(nint)i * n] = src[i];
                }

                continue;
            }

            bool within = true;
            for (int i = 0; i < k; i++)
            {
                float a = MathF.Abs(src[i]);
                within &= a < Fp8.XLimit && (a >= Fp8.XFloor || a == 0);
                d[(nint)i * n] = src[i] * f;
            }

            if (!within)
            {
                Volatile.Write(ref _exceeded, 1);
            }
        }
    }
}
