using System.Runtime.CompilerServices;
namespace Accel.Backends.Cpu.Kernels;

/// <summary>
/// A loop over [0, Total) split into chunks, with a static body and a few parameter slots, so that
/// simple ops run on the pool without allocating a closure per call.
/// </summary>
internal sealed unsafe class RangeJob : ParallelJob
{
    public delegate*<RangeJob, int, int, void> Body;
    public int Total;
    public int Chunk;
    public void* P0, P1, P2, P3, P4, P5;
    public int I0, I1, I2, I3;
    public float F0, F1;

    /// <summary>Whether the body runs its 16-lane AVX-512 code (else the portable vectors); bodies that have both read it.</summary>
    public bool Wide;

    /// <summary>Sets the loop; the caller fills the slots and runs it on the pool.</summary>
    public RangeJob For(int total, int chunk, delegate*<RangeJob, int, int, void> body)
    {
        Total = total;
        Chunk = Math.Max(1, chunk);
        Body = body;
        Reset((total + Chunk - 1) / Chunk);
        return this;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    protected override void Execute(int index, int worker)
    {
        int begin = index * Chunk;
        Body(this, begin, Math.Min(Total, begin + Chunk));
    }
}
