using System.Numerics;
using Accel.Profiles;
using Accel.Types;

namespace Accel.Core.Tests.Fuzzing;

/// <summary>
/// Mutated hardware profiles (the shipped ones as seeds): each either loads into a profile whose
/// figures are usable as they are (finite, whole counts that fit an int, a power-of-two alignment
/// that fits an int) or is refused with a clear error.
/// </summary>
[TestFixture]
[Category("fuzz")]
public sealed class ProfileFuzzTests
{
    private static readonly Lazy<(string Name, string Json)[]> Seeds = new(() =>
        Directory.GetFiles(HardwareProfileLoader.ShippedFolder, "*.json")
            .Where(f => Path.GetFileName(f) != HardwareProfileLoader.SchemaFileName)
            .Order(StringComparer.Ordinal)
            .Select(f => (Path.GetFileName(f), File.ReadAllText(f)))
            .ToArray());

    [Test]
    public void Mutated_profiles_load_consistently_or_fail_with_a_clear_error()
    {
        var seeds = Seeds.Value;
        Assert.That(seeds, Is.Not.Empty, "no shipped profiles to start from");
        var run = new FuzzRun("profile");
        run.JsonCases(seeds, (text, name) => Check(HardwareProfileLoader.Parse(text, name)));
        run.AssertNoFindings();
    }

    /// <summary>The figures consumers read from a profile are usable without further checks.</summary>
    internal static void Check(HardwareProfile p)
    {
        var figures = new List<(string Name, Figure Figure)>
        {
            ("compute.units", p.Compute.Units), ("compute.warpWidth", p.Compute.WarpWidth),
            ("memory.deviceBytes", p.Memory.DeviceBytes), ("memory.bandwidth", p.Memory.Bandwidth),
            ("memory.alignmentBytes", p.Memory.AlignmentBytes),
        };
        if (p.Compute.Clock is { } clock)
        {
            figures.Add(("compute.clock", clock));
        }

        figures.AddRange(p.Memory.OnChip.Select(m => ($"memory.onChip.{m.Name}", m.Size)));
        figures.AddRange(p.Peaks.Select(k => ($"peaks.{k.DType.ShortName()}", k.Throughput)));
        foreach (var (name, figure) in figures)
        {
            if (figure.BaseValue is { } v && !(double.IsFinite(v) && v > 0))
            {
                Fail($"{name} = {figure} is {v} in base units; it must be finite and positive");
            }
        }

        CheckCount("compute.units", p.Compute.Units);
        CheckCount("compute.warpWidth", p.Compute.WarpWidth);
        int alignment = p.Memory.EffectiveAlignment;
        if (alignment < 1 || !BitOperations.IsPow2(alignment))
        {
            Fail($"the effective alignment of {p.Memory.AlignmentBytes} is {alignment}; it must be a positive power of two");
        }

        if (p.Memory.DeviceMemoryBytes is { } bytes && bytes <= 0)
        {
            Fail($"memory.deviceBytes {p.Memory.DeviceBytes} is {bytes} bytes; it must be positive");
        }

        if (Roofline.PredictSeconds(p, DType.F32, 1e9, 1e9) is { } seconds && !double.IsFinite(seconds))
        {
            Fail($"the roofline of 1 GFLOP and 1 GB is {seconds} s");
        }
    }

    private static void CheckCount(string name, Figure figure)
    {
        if (figure.BaseValue is { } v && v > int.MaxValue)
        {
            Fail($"{name} = {figure} does not fit a 32-bit count, which the shims read it as");
        }
    }

    private static void Fail(string problem) => throw new FuzzInconsistencyException(problem);
}
