using Accel.Backends.Reference;
using Accel.Types;

namespace Accel.Kernels.Tests;

/// <summary>How routed ids are spread over the experts.</summary>
public enum Routing
{
    /// <summary>K distinct random experts per token.</summary>
    Random,
    /// <summary>Most ids on expert 0, a few random; several experts get no tokens.</summary>
    Skewed,
    /// <summary>Every id is the same expert (the last one); all other segments are empty.</summary>
    OneExpert,
    /// <summary>Only the odd experts receive tokens.</summary>
    OddOnly,
}

/// <summary>Deterministic test data (seeded per case).</summary>
public sealed class TestRng(int seed)
{
    private readonly Random _random = new(seed);

    public int Next(int max) => _random.Next(max);

    public float[] Floats(long count, float lo = -1f, float hi = 1f)
    {
        var v = new float[count];
        for (long i = 0; i < count; i++)
        {
            v[i] = lo + (float)_random.NextDouble() * (hi - lo);
        }

        return v;
    }

    /// <summary>Values on a coarse grid, so that exact ties occur.</summary>
    public float[] Levels(long count, int levels, float step)
    {
        var v = new float[count];
        for (long i = 0; i < count; i++)
        {
            v[i] = (_random.Next(levels) - levels / 2) * step;
        }

        return v;
    }

    public byte[] Bytes(long count, Func<int, bool>? accept = null)
    {
        var v = new byte[count];
        for (long i = 0; i < count; i++)
        {
            int b;
            do
            {
                b = _random.Next(256);
            }
            while (accept is not null && !accept(b));
            v[i] = (byte)b;
        }

        return v;
    }

    /// <summary>Flat [tokens, k] expert ids.</summary>
    public int[] Experts(int tokens, int k, int experts, Routing routing)
    {
        var ids = new int[tokens * k];
        for (int t = 0; t < tokens; t++)
        {
            for (int j = 0; j < k; j++)
            {
                ids[t * k + j] = routing switch
                {
                    Routing.OneExpert => experts - 1,
                    Routing.Skewed => _random.Next(4) == 0 ? _random.Next(experts) : 0,
                    Routing.OddOnly => (2 * _random.Next(experts / 2) + 1) % experts,
                    _ => Distinct(ids.AsSpan(t * k, j), experts),
                };
            }
        }

        return ids;
    }

    private int Distinct(ReadOnlySpan<int> taken, int experts)
    {
        while (true)
        {
            int e = _random.Next(experts);
            if (!taken.Contains(e) || taken.Length >= experts)
            {
                return e;
            }
        }
    }

    /// <summary>A floating weight of the given dtype (f32, bf16 or f16) with values in [-1, 1].</summary>
    public HostTensor FloatWeight(DType type, params long[] shape)
    {
        var s = new Shape(shape);
        var values = Floats(s.Elements);
        return type switch
        {
            DType.F32 => HostTensor.FromF32(s, values),
            DType.BF16 => new HostTensor(type, s, Encode(values, NumericFormats.F32ToBF16)),
            DType.F16 => new HostTensor(type, s, Encode(values, NumericFormats.F32ToF16)),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
        };
    }

    /// <summary>FP8 e4m3 weight [.., out, in] (no NaN codes) and its 128x128 block scale in f32 or ue8m0.</summary>
    public (HostTensor Weight, HostTensor Scale) Fp8Weight(DType scaleType, long experts, long outDim, long inDim, bool stacked)
    {
        var ws = stacked ? new Shape(experts, outDim, inDim) : new Shape(outDim, inDim);
        var weight = new HostTensor(DType.F8E4M3, ws, Bytes(ws.Elements, b => (b & 0x7F) != 0x7F));
        long bo = (outDim + 127) / 128, bi = (inDim + 127) / 128;
        var ss = stacked ? new Shape(experts, bo, bi) : new Shape(bo, bi);
        var scale = scaleType == DType.UE8M0
            ? new HostTensor(DType.UE8M0, ss, Bytes(ss.Elements, b => b is >= 118 and <= 124))
            : HostTensor.FromF32(ss, Floats(ss.Elements, 0.002f, 0.02f));
        return (weight, scale);
    }

    /// <summary>FP4 e2m1 weight [.., out, in] (two per byte) and its 1x32 ue8m0 scale.</summary>
    public (HostTensor Weight, HostTensor Scale) Fp4Weight(long experts, long outDim, long inDim, bool stacked)
    {
        var ws = stacked ? new Shape(experts, outDim, inDim) : new Shape(outDim, inDim);
        var weight = new HostTensor(DType.F4E2M1, ws, Bytes(DType.F4E2M1.ByteSize(ws.Elements)));
        long blocks = (inDim + 31) / 32;
        var ss = stacked ? new Shape(experts, outDim, blocks) : new Shape(outDim, blocks);
        return (weight, new HostTensor(DType.UE8M0, ss, Bytes(ss.Elements, b => b is >= 122 and <= 128)));
    }

    private static byte[] Encode(float[] values, Func<float, ushort> encode)
    {
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), encode(values[i]));
        }

        return bytes;
    }
}

/// <summary>Routing tables computed on the host with the reference ops, as inputs of single-op cases.</summary>
public sealed record Dispatch(int[] Ids, int[] Offsets, int[] PosToToken, int[] PosToSlot, int[] TokenSlotToPos)
{
    public int Rows => PosToToken.Length;

    public static Dispatch Build(int[] ids, int tokens, int k, int experts, int alignment)
    {
        var counts = new int[experts];
        ReferenceOps.ExpertHistogram(ids, counts);
        var offsets = new int[experts + 1];
        ReferenceOps.ExclusiveScan(counts, offsets, alignment);
        int rows = tokens * k + experts * (alignment - 1);
        var ptt = new int[rows];
        var pts = new int[rows];
        var tsp = new int[tokens * k];
        ReferenceOps.BuildPermutation(ids, offsets, ptt, pts, tsp, k);
        return new Dispatch(ids, offsets, ptt, pts, tsp);
    }
}
