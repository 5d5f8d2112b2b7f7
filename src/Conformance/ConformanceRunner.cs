using System.Diagnostics;
using Accel.Backends;
using Accel.Backends.Reference;
using Accel.Errors;
using Accel.Execution;
using Accel.Types;

namespace Accel.Conformance;

/// <summary>Options of a <see cref="ConformanceRunner"/>.</summary>
/// <param name="GuardElements">Elements of each guard region around every device buffer.</param>
/// <param name="MaxAttempts">Input generations tried before tokens with a routing tie are skipped.</param>
public sealed record RunnerOptions(int GuardElements = 64, int MaxAttempts = 4);

/// <summary>
/// Runs cases: each case's graph goes through a strict <see cref="GraphSession"/> (no fallback)
/// on the device, wrapped in a <see cref="GuardedBackend"/>, and on the reference backend; the
/// case's checks compare the two. A node the device reports unsupported makes the case
/// NOT SUPPORTED with the device's reason; it is never run and never passes.
/// </summary>
public sealed class ConformanceRunner(RunnerOptions? options = null) : IDisposable
{
    private readonly RunnerOptions _options = options ?? new RunnerOptions();
    private readonly ReferenceBackend _reference = new();

    /// <summary>Runs every case on <paramref name="device"/>, calling <paramref name="onResult"/> after each.</summary>
    public IReadOnlyList<CaseResult> RunAll(IEnumerable<ConformanceCase> cases, IBackend device,
        Action<ConformanceCase, CaseResult>? onResult = null)
    {
        var results = new List<CaseResult>();
        foreach (var c in cases)
        {
            var r = Run(c, device);
            results.Add(r);
            onResult?.Invoke(c, r);
        }

        return results;
    }

    /// <summary>Runs one case on <paramref name="device"/>.</summary>
    public CaseResult Run(ConformanceCase c, IBackend device)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(device);
        var clock = Stopwatch.StartNew();
        CaseResult Done(CaseResult r) => r with { Milliseconds = clock.Elapsed.TotalMilliseconds };
        CaseProblem problem;
        try
        {
            problem = CaseCatalog.Build(c);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Done(CaseResult.Failed(c, $"the case could not be built: {e.GetType().Name}: {e.Message}"));
        }

        if (Support(problem.Graph, device) is { } reason)
        {
            return Done(CaseResult.Unsupported(c, reason));
        }

        IReadOnlyDictionary<string, HostTensor> expected;
        bool[]? decided;
        int attempt = 0;
        try
        {
            (expected, decided) = RunReference(problem);
            while (decided is not null && decided.Contains(false) && ++attempt < _options.MaxAttempts)
            {
                problem = CaseCatalog.Build(c, attempt);
                (expected, decided) = RunReference(problem);
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return Done(CaseResult.Failed(c, $"the reference run failed: {e.GetType().Name}: {e.Message}"));
        }

        IReadOnlyDictionary<string, HostTensor> actual;
        try
        {
            using var guarded = new GuardedBackend(device, _options.GuardElements);
            using var session = new GraphSession(problem.Graph, [guarded], problem.Weights, new SessionOptions(Strict: true));
            actual = session.Run(problem.Inputs);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The session reports a failing node as an ExecutionException around the device's error.
            var cause = e is ExecutionException { InnerException: { } inner } ? inner : e;
            return Done(cause switch
            {
                GuardViolationException => CaseResult.Failed(c, cause.Message, "guard"),
                IndexOutOfRangeException or ArgumentOutOfRangeException => CaseResult.Failed(c,
                    $"out-of-bounds access on the device: {cause.GetType().Name}: {cause.Message}", "guard"),
                _ => CaseResult.Failed(c, $"the device run failed: {e.GetType().Name}: {e.Message}", "error"),
            });
        }

        var context = new CheckContext
        {
            Inputs = problem.Inputs.Concat(problem.Weights).ToDictionary(StringComparer.Ordinal),
            Actual = actual,
            Expected = expected,
            Decided = decided,
        };
        var checks = problem.Checks.Select(check => Evaluate(check, context)).ToList();
        return Done(CaseResult.From(c, checks, context.Skipped, attempt + 1));
    }

    /// <summary>Null when the device runs every node of <paramref name="graph"/>, else why not.</summary>
    public static string? Support(Graph.Graph graph, IBackend device)
    {
        var no = graph.Nodes.Select(n => (Node: n, Answer: device.Supports(n, graph))).Where(x => !x.Answer.IsSupported).ToList();
        return no.Count == 0 ? null : string.Join("; ", no.Select(x => $"{x.Node.Kind} '{x.Node.Name}': {x.Answer.Reason}"));
    }

    private (IReadOnlyDictionary<string, HostTensor> Outputs, bool[]? Decided) RunReference(CaseProblem p)
    {
        var graph = p.Graph;
        var margin = p.Margin;
        if (margin is not null && !p.Inputs.ContainsKey(margin.ScoresValue))
        {
            var scores = graph[margin.ScoresValue];
            graph = new Graph.Graph(graph.Values, graph.Nodes, graph.Outputs.Contains(scores.Id) ? graph.Outputs : [.. graph.Outputs, scores.Id]);
        }

        using var session = new GraphSession(graph, [_reference], p.Weights, new SessionOptions(Strict: true));
        var outputs = session.Run(p.Inputs);
        if (margin is null)
        {
            return (outputs, null);
        }

        var q = p.Inputs.TryGetValue(margin.ScoresValue, out var input) ? input : outputs[margin.ScoresValue];
        return (outputs, margin.Decide(q));
    }

    private static CheckResult Evaluate(OutputCheck check, CheckContext context)
    {
        try
        {
            var o = check.Evaluate(context);
            return new CheckResult(check.Value, check.Metric, o.Error, check.Tolerance, o.Passed, o.Detail);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new CheckResult(check.Value, check.Metric, double.PositiveInfinity, check.Tolerance, false,
                $"the check failed: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>Frees the reference backend.</summary>
    public void Dispose() => _reference.Dispose();
}
