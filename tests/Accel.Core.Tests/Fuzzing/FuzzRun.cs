using System.Diagnostics;
using Accel.Errors;

namespace Accel.Core.Tests.Fuzzing;

/// <summary>Thrown by a consistency check when a mutated input loaded but the result contradicts itself.</summary>
internal sealed class FuzzInconsistencyException(string message) : Exception(message);

/// <summary>One case that broke the oracle, with what is needed to replay it.</summary>
internal sealed record FuzzFinding(string Format, int Seed, string Mutation, string Problem)
{
    /// <summary>The finding, the mutation and the command that replays it.</summary>
    public override string ToString() =>
        $"[{Format}] seed {Seed}: {Problem}\n    mutation: {Mutation}\n" +
        $"    replay: scripts/fuzz.sh --format {Format} --seed {Seed} --iterations 1";
}

/// <summary>
/// The oracle of a fuzz run over one input format. Each case's load runs on its own thread and
/// must, within <see cref="FuzzSettings.CaseTimeout"/> and without allocating more than a bound
/// proportional to the input, either succeed (its own consistency checks included) or throw an
/// <see cref="AccelException"/> with a short message and no stack trace. Anything else is a finding;
/// findings are collected and reported together at the end with their seeds and mutations.
/// </summary>
internal sealed class FuzzRun(string format)
{
    /// <summary>Allocation allowed for any input, on top of <see cref="AllocationPerInputByte"/>.</summary>
    public const long BaseAllocationBytes = 32L << 20;

    /// <summary>Allocation allowed per byte of input (copies, stacking, parsing).</summary>
    public const long AllocationPerInputByte = 16;

    /// <summary>The longest error message accepted.</summary>
    public const int MaxMessageLength = 4000;

    private readonly List<FuzzFinding> _findings = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _loaded;
    private int _rejected;

    /// <summary>The seeds of this run's cases.</summary>
    public IEnumerable<int> Seeds => Enumerable.Range(FuzzSettings.BaseSeed, FuzzSettings.Iterations);

    /// <summary>Runs one case: <paramref name="load"/> reads the mutated input and checks what it loaded.</summary>
    public void Case(int seed, string mutation, long inputBytes, Action load)
    {
        string? problem = Judge(load, BaseAllocationBytes + AllocationPerInputByte * inputBytes);
        if (problem is not null)
        {
            _findings.Add(new FuzzFinding(format, seed, mutation, problem));
        }
    }

    /// <summary>
    /// Runs this run's cases over JSON files: each case picks one of <paramref name="seeds"/>, applies
    /// one to three structural mutations (and, one case in eight, damages the text) and hands the
    /// text and the seed's name to <paramref name="load"/>.
    /// </summary>
    public void JsonCases(IReadOnlyList<(string Name, string Json)> seeds, Action<string, string> load)
    {
        foreach (int seed in Seeds)
        {
            var (name, text, notes) = Prepare(seed, () =>
            {
                var rng = new Random(seed);
                var (name, json) = seeds[rng.Next(seeds.Count)];
                var mutator = new JsonMutator(json, rng);
                mutator.MutateRandomly(1 + rng.Next(3));
                string text = mutator.Write();
                if (rng.Next(8) == 0)
                {
                    text = mutator.DamageText(text);
                }

                return (name, text, string.Join("; ", mutator.Notes));
            });
            Case(seed, $"seed file {name}; {notes}", text.Length, () => load(text, name));
        }
    }

    /// <summary>Builds the input of case <paramref name="seed"/>; a failure of the mutator itself names the seed.</summary>
    public T Prepare<T>(int seed, Func<T> make)
    {
        try
        {
            return make();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"the {format} mutator failed on seed {seed} (a bug in the fuzzer, not the loader)", e);
        }
    }

    /// <summary>Prints the summary line and fails with every finding when there are any.</summary>
    public void AssertNoFindings()
    {
        int cases = _loaded + _rejected + _findings.Count;
        string summary = $"fuzz {format}: {cases} cases from seed {FuzzSettings.BaseSeed}: {_loaded} loaded, " +
                         $"{_rejected} rejected, {_findings.Count} findings ({_clock.Elapsed.TotalSeconds:F1} s)";
        TestContext.Progress.WriteLine(summary);
        if (_findings.Count > 0)
        {
            var shown = _findings.Take(20).Select(f => f.ToString());
            Assert.Fail($"{summary}\n{string.Join("\n", shown)}" +
                        (_findings.Count > 20 ? $"\n... and {_findings.Count - 20} more" : ""));
        }
    }

    /// <summary>Why the message of a rejection is not acceptable, or null when it is.</summary>
    public static string? MessageProblem(string message)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            return "the error message is empty";
        }

        if (message.Contains("   at ", StringComparison.Ordinal))
        {
            return "the error message holds a stack trace";
        }

        if (message.Contains("System.", StringComparison.Ordinal))
        {
            return "the error message names a .NET type";
        }

        return message.Length > MaxMessageLength ? $"the error message is {message.Length} characters long" : null;
    }

    private string? Judge(Action load, long allocationLimit)
    {
        Exception? error = null;
        long allocated = 0;
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                load();
            }
            catch (Exception e)
            {
                error = e;
            }
            finally
            {
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
        }) { IsBackground = true, Name = "fuzz case" };
        thread.Start();
        if (!thread.Join(FuzzSettings.CaseTimeout))
        {
            return $"did not finish within {FuzzSettings.CaseTimeout.TotalSeconds} s (a hang or a loop driven by the input)";
        }

        if (allocated > allocationLimit)
        {
            return $"allocated {allocated} bytes, more than the {allocationLimit} allowed for this input " +
                   $"(a size taken from the input without a bound){Outcome(error)}";
        }

        switch (error)
        {
            case null:
                _loaded++;
                return null;
            case FuzzInconsistencyException e:
                return $"loaded, but inconsistent: {e.Message}";
            case AccelException e when MessageProblem(e.Message) is { } bad:
                return $"{bad}: {e.GetType().Name}: {e.Message}";
            case AccelException:
                _rejected++;
                return null;
            default:
                return $"leaked {error.GetType().FullName}: {error.Message}\n{Frames(error)}";
        }
    }

    private static string Outcome(Exception? error) =>
        error is null ? "" : $"; it then failed with {error.GetType().Name}: {error.Message}";

    private static string Frames(Exception error) =>
        string.Join("\n", (error.StackTrace ?? "").Split('\n').Take(6).Select(l => "      " + l.Trim()));
}
