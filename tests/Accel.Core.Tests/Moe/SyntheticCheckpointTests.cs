using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Moe;

/// <summary>
/// Synthetic weights: the bytes depend on the seed only (not on the thread count), values have
/// the intended spread, and each quantised weight decodes to within its format's rounding of the
/// f32 weight of the same name and seed.
/// </summary>
[TestFixture]
public sealed class SyntheticCheckpointTests
{
    /// <summary>Several 128-row stripes, a ragged last stripe and a ragged last 128-column block.</summary>
    private static readonly MoeConfig Ragged = MoePresets.DeepSeekV4Tiny with { Hidden = 300, ExpertWidth = 260, SharedWidth = 196, Experts = 8 };

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var format in Enum.GetValues<SyntheticFormat>())
        {
            yield return new TestCaseData(Ragged, 3, format).SetArgDisplayNames("ragged", "3", format.ToString());
            yield return new TestCaseData(MoePresets.DeepSeekV4Tiny, 0, format).SetArgDisplayNames("v4-tiny-hash", "0", format.ToString());
        }

        yield return new TestCaseData(MoePresets.Qwen2MoeTiny, 1, SyntheticFormat.Fp4).SetArgDisplayNames("qwen2", "1", "Fp4");
    }

    private static void AssertSameBytes(Dictionary<string, HostTensor> a, Dictionary<string, HostTensor> b, string what)
    {
        Assert.That(b.Keys.Order(), Is.EqualTo(a.Keys.Order()), what);
        foreach (var (name, t) in a)
        {
            Assert.That(b[name].Type, Is.EqualTo(t.Type), $"{what}: {name}");
            Assert.That(b[name].Shape, Is.EqualTo(t.Shape), $"{what}: {name}");
            Assert.That(b[name].ReadOnlyBytes.SequenceEqual(t.ReadOnlyBytes), Is.True, $"{what}: bytes of {name}");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Same_seed_gives_the_same_bytes_on_one_thread_or_many(MoeConfig config, int layer, SyntheticFormat format)
    {
        var first = SyntheticCheckpoint.Create(config, layer, format, seed: 77);
        AssertSameBytes(first, SyntheticCheckpoint.Create(config, layer, format, seed: 77), "run twice");
        AssertSameBytes(first, SyntheticCheckpoint.Create(config, layer, format, 77, maxParallelism: 1), "one thread");
        AssertSameBytes(first, SyntheticCheckpoint.Create(config, layer, format, 77, maxParallelism: 3), "three threads");
        var other = SyntheticCheckpoint.Create(config, layer, format, seed: 78);
        string expert = MoeWeightNames.HfExpert(config.Family, layer, 0, "up");
        Assert.That(other[expert].ReadOnlyBytes.SequenceEqual(first[expert].ReadOnlyBytes), Is.False, "another seed, other values");
    }

    [TestCaseSource(nameof(Cases))]
    public void The_loader_accepts_the_tensors_and_the_sizes_match_the_plan(MoeConfig config, int layer, SyntheticFormat format)
    {
        var tensors = SyntheticCheckpoint.Create(config, layer, format);
        Assert.That(tensors.Values.Sum(t => t.ReadOnlyBytes.Length), Is.EqualTo(SyntheticCheckpoint.StoredBytes(config, layer, format)));
        Assert.DoesNotThrow(() => MoeWeightLoader.Load(new Accel.IO.InMemoryTensorSource(tensors), config, layer));
    }

    [Test]
    public void Values_are_uniform_with_standard_deviation_one_over_sqrt_fan_in()
    {
        var config = MoePresets.DeepSeekV4Tiny with { Hidden = 512, ExpertWidth = 384, Experts = 4 };
        var t = SyntheticCheckpoint.Create(config, 3, SyntheticFormat.F32);
        foreach (string proj in MoeWeightNames.Projections)
        {
            var v = t[MoeWeightNames.HfExpert(config.Family, 3, 1, proj)].ToF32();
            int fanIn = proj == "down" ? config.ExpertWidth : config.Hidden;
            double mean = v.Average(x => (double)x), std = Math.Sqrt(v.Average(x => (double)x * x) - mean * mean);
            double bound = Math.Sqrt(3.0 / fanIn);
            Assert.That(std * Math.Sqrt(fanIn), Is.EqualTo(1.0).Within(0.01), proj);
            Assert.That(Math.Abs(mean) * Math.Sqrt(fanIn), Is.LessThan(0.01), proj);
            Assert.That(v.Max(x => Math.Abs(x)), Is.LessThanOrEqualTo(bound * 1.000001).And.GreaterThan(bound * 0.999), proj);
        }
    }

    /// <summary>
    /// Per element: bf16 within half an ulp (2^-9 relative); fp8 within half the e4m3 spacing at the
    /// value (2^-4 relative, 2^-10 of the block scale below the normal range); fp4 within half the
    /// e2m1 spacing (at most one block scale). Per tensor, the relative RMS error.
    /// </summary>
    [TestCase(SyntheticFormat.BF16, 0.003)]
    [TestCase(SyntheticFormat.Fp8, 0.04)]
    [TestCase(SyntheticFormat.Fp4, 0.15)]
    public void Quantised_weights_decode_near_the_f32_weights(SyntheticFormat format, double rmsBound)
    {
        var exact = SyntheticCheckpoint.Create(Ragged, 3, SyntheticFormat.F32, seed: 5);
        var stored = SyntheticCheckpoint.Create(Ragged, 3, format, seed: 5);
        foreach (var t in SyntheticCheckpoint.Plan(Ragged, 3, format).Where(p => p.Storage != SyntheticStorage.F32))
        {
            var w = exact[t.Name].ToF32();
            var (decoded, halfStep) = Decode(t, stored);
            double err2 = 0, ref2 = 0;
            for (int k = 0; k < w.Length; k++)
            {
                double e = Math.Abs(decoded[k] - w[k]);
                if (e > halfStep[k] * 1.0000001)
                {
                    Assert.Fail($"{t.Name} ({t.Storage}) element {k}: {w[k]:R} decodes to {decoded[k]:R}, off by {e:G3} > {halfStep[k]:G3}");
                }

                err2 += e * e;
                ref2 += (double)w[k] * w[k];
            }

            Assert.That(Math.Sqrt(err2 / ref2), Is.LessThan(rmsBound), $"{t.Name} ({t.Storage})");
        }
    }

    /// <summary>The decoded values of a stored weight and, per element, the largest rounding error its format allows.</summary>
    private static (float[] Values, float[] HalfStep) Decode(SyntheticTensor t, Dictionary<string, HostTensor> stored)
    {
        var weight = stored[t.Name];
        var values = new float[t.Out * t.In];
        var half = new float[values.Length];
        int bi = (t.In + 127) / 128, b32 = (t.In + 31) / 32;
        for (int r = 0; r < t.Out; r++)
        {
            for (int c = 0; c < t.In; c++)
            {
                int k = r * t.In + c;
                switch (t.Storage)
                {
                    case SyntheticStorage.BF16:
                        values[k] = NumericFormats.BF16ToF32(weight.AsSpan<ushort>()[k]);
                        half[k] = MathF.Abs(values[k]) * MathF.Pow(2, -8);
                        break;
                    case SyntheticStorage.Fp8F32Scales or SyntheticStorage.Fp8Ue8m0Scales:
                        var scale = stored[t.ScaleName!];
                        float s = t.Storage == SyntheticStorage.Fp8F32Scales
                            ? scale.AsSpan<float>()[r / 128 * bi + c / 128]
                            : NumericFormats.UE8M0ToF32(scale.Bytes[r / 128 * bi + c / 128]);
                        values[k] = NumericFormats.E4M3ToF32(weight.Bytes[k]) * s;
                        half[k] = Math.Max(MathF.Abs(values[k]) * MathF.Pow(2, -4), s * MathF.Pow(2, -10));
                        break;
                    default:
                        byte packed = weight.Bytes[k / 2];
                        float s4 = NumericFormats.UE8M0ToF32(stored[t.ScaleName!].Bytes[r * b32 + c / 32]);
                        values[k] = NumericFormats.E2M1ToF32((c & 1) == 0 ? packed & 0xF : packed >> 4) * s4;
                        half[k] = MathF.Abs(values[k]) < 2 * s4 ? s4 / 4 : s4;
                        break;
                }
            }
        }

        return (values, half);
    }

    [Test]
    public void Hash_table_rows_hold_distinct_experts_and_use_them_all()
    {
        var c = MoePresets.DeepSeekV4Tiny;
        var ids = SyntheticCheckpoint.Create(c, 0, SyntheticFormat.F32)[MoeWeightNames.Prefix(c.Family, 0) + "gate.tid2eid"].ToI32();
        for (int v = 0; v < c.Vocab; v++)
        {
            var row = ids.AsSpan(v * c.TopK, c.TopK).ToArray();
            Assert.That(row.Distinct().Count(), Is.EqualTo(c.TopK), $"row {v}");
            Assert.That(row.All(e => e >= 0 && e < c.Experts), Is.True, $"row {v}");
        }

        Assert.That(ids.Distinct().Count(), Is.EqualTo(c.Experts));
    }
}
