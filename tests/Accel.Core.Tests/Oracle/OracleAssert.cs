using Accel.Backends.Reference;
using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Oracle;

/// <summary>Runs a layer on the reference backend and compares it with the oracle (moe-spec 5, oracle notes).</summary>
internal static class OracleAssert
{
    /// <summary>Minimum gap between the K-th and (K+1)-th selection score (and group score) for a token to be compared.</summary>
    public const double Margin = 1e-6;

    /// <summary>Norm-wise relative error allowed on the output.</summary>
    public const double OutputTolerance = 1e-5;

    /// <summary>Absolute error allowed on each routing weight.</summary>
    public const double WeightTolerance = 1e-5;

    /// <summary>Loads <paramref name="tensors"/> by their checkpoint names and runs the layer on the reference backend.</summary>
    public static MoeResult RunLayer(MoeConfig config, int layer, IReadOnlyDictionary<string, HostTensor> tensors,
        HostTensor hidden, int[]? tokenIds = null)
    {
        var weights = MoeWeightLoader.Load(new InMemoryTensorSource(tensors), config, layer);
        using var backend = new ReferenceBackend();
        using var moe = new MoeLayer(config, layer, weights, [backend]);
        return moe.Run(hidden, tokenIds is null ? null : HostTensor.FromI32(new Shape(tokenIds.Length), tokenIds));
    }

    /// <summary>Seeded activations [T, D] uniform in [-scale, scale], in f32 or (truncated) bf16.</summary>
    public static HostTensor Hidden(int tokens, int hidden, int seed = 99, float scale = 1f, bool bf16 = false)
    {
        var rng = new Random(seed);
        var v = new float[tokens * hidden];
        for (int i = 0; i < v.Length; i++) { v[i] = (float)((rng.NextDouble() * 2 - 1) * scale); }
        if (!bf16)
        {
            return HostTensor.FromF32(new Shape(tokens, hidden), v);
        }

        var bytes = new byte[v.Length * 2];
        for (int i = 0; i < v.Length; i++)
        {
            // Truncating the low half gives an exact bf16 value; the oracle decodes the bytes itself.
            ushort bits = (ushort)(BitConverter.SingleToUInt32Bits(v[i]) >> 16);
            bytes[2 * i] = (byte)bits;
            bytes[2 * i + 1] = (byte)(bits >> 8);
        }

        return new HostTensor(DType.BF16, new Shape(tokens, hidden), bytes);
    }

    /// <summary>
    /// Asserts shapes, routing as sets, routing weights and the norm-wise relative output error for
    /// every token whose routing the oracle finds decided by more than <see cref="Margin"/>.
    /// Returns how many tokens were compared.
    /// </summary>
    public static int Agrees(MoeResult actual, OracleResult expected, MoeConfig config)
    {
        int tokens = expected.Output.Length, d = config.Hidden, k = config.TopK;
        Assert.That(actual.Output.Shape, Is.EqualTo(new Shape(tokens, d)));
        Assert.That(actual.TopkIds.Shape, Is.EqualTo(new Shape(tokens, k)));
        Assert.That(actual.TopkWeights.Shape, Is.EqualTo(new Shape(tokens, k)));
        Assert.That(actual.Output.Type, Is.EqualTo(DType.F32));
        var output = actual.Output.AsSpan<float>().ToArray();
        var ids = actual.TopkIds.AsSpan<int>().ToArray();
        var weights = actual.TopkWeights.AsSpan<float>().ToArray();
        double num = 0, den = 0;
        int compared = 0;
        for (int t = 0; t < tokens; t++)
        {
            if (!expected.Decided(t, Margin))
            {
                continue;
            }

            compared++;
            var row = ids.AsSpan(t * k, k).ToArray();
            Assert.That(row.Order(), Is.EqualTo(expected.Routing[t].Experts), $"experts of token {t}");
            for (int j = 0; j < k; j++)
            {
                int at = Array.IndexOf(expected.Routing[t].Experts, row[j]);
                Assert.That(weights[t * k + j], Is.EqualTo(expected.Routing[t].Weights[at]).Within(WeightTolerance),
                    $"weight of expert {row[j]} for token {t}");
            }

            for (int i = 0; i < d; i++)
            {
                double diff = output[t * d + i] - expected.Output[t][i];
                num += diff * diff;
                den += expected.Output[t][i] * expected.Output[t][i];
            }
        }

        Assert.That(compared, Is.GreaterThanOrEqualTo((tokens + 1) / 2), "too few tokens with a decided routing to compare");
        if (den > 0)
        {
            Assert.That(Math.Sqrt(num / den), Is.LessThan(OutputTolerance), "norm-wise relative output error");
        }

        return compared;
    }
}
