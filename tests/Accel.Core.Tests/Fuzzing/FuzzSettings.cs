using System.Globalization;

namespace Accel.Core.Tests.Fuzzing;

/// <summary>
/// How many cases a fuzz test runs and from which seed. CI runs the defaults; <c>scripts/fuzz.sh</c>
/// sets <see cref="IterationsVariable"/> and <see cref="SeedVariable"/> for a long run. Case i of a
/// run uses the seed <c>base + i</c>, so <c>--seed S --iterations 1</c> replays the case with seed S.
/// </summary>
internal static class FuzzSettings
{
    /// <summary>Cases per format; unset means <see cref="DefaultIterations"/>.</summary>
    public const string IterationsVariable = "ACCEL_FUZZ_ITERATIONS";

    /// <summary>The seed of the first case; unset means <see cref="DefaultSeed"/>.</summary>
    public const string SeedVariable = "ACCEL_FUZZ_SEED";

    /// <summary>Cases per format in a CI run (a few seconds on two cores).</summary>
    public const int DefaultIterations = 300;

    /// <summary>The first seed of a CI run.</summary>
    public const int DefaultSeed = 1;

    /// <summary>
    /// The longest one case may take before it counts as a hang: far above a normal case (milliseconds),
    /// so that a garbage collection or a busy shared machine is not reported as one.
    /// </summary>
    public static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Cases per format for this run.</summary>
    public static int Iterations => Read(IterationsVariable, DefaultIterations, min: 1);

    /// <summary>The seed of the first case of this run.</summary>
    public static int BaseSeed => Read(SeedVariable, DefaultSeed, min: 0);

    private static int Read(string variable, int fallback, int min)
    {
        string? text = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < min)
        {
            throw new ArgumentException($"{variable}='{text}' must be a whole number of at least {min}.");
        }

        return value;
    }
}
