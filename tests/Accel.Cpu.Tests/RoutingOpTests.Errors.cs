using Accel.Backends.Cpu;
using Accel.Errors;
using Accel.Graph;
using Accel.Types;

namespace Accel.Cpu.Tests;

/// <summary>
/// Bad ids, tables, counts and offsets reaching the ops: each is an <see cref="InvalidInputException"/>
/// naming the op, the tensor and the first bad position, on both SIMD paths.
/// </summary>
public sealed partial class RoutingOpTests
{
    private const int BadT = 37, BadK = 3, BadE = 12, BadV = 20;

    /// <summary>A graph, its data with one defect, the message expected and whether the reference checks it too.</summary>
    private sealed record Broken(Graph.Graph Graph, Dictionary<string, HostTensor> Weights, Dictionary<string, HostTensor> Inputs,
        string Message, bool ReferenceChecks);

    private static readonly string[] BrokenCases =
    [
        "token_id_past_table", "token_id_negative", "table_entry_not_an_expert", "table_row_with_duplicate",
        "weights_id_first_of_two", "histogram_id_in_last_partial_vector", "permutation_id", "scan_negative_count",
        "offsets_decrease", "segment_too_small", "offsets_past_rows",
    ];

    private static IEnumerable<TestCaseData> ErrorCases() =>
        from simd in Paths
        from c in BrokenCases
        select new TestCaseData(simd, c).SetName($"Rejects_{c}_{simd}");

    [TestCaseSource(nameof(ErrorCases))]
    public void Bad_ids_are_invalid_input_naming_the_op_and_position(CpuSimd simd, string which)
    {
        var c = Break(which);
        var e = Assert.Throws<InvalidInputException>(() => Harness.RunCpu(c.Graph, c.Weights, On(simd), c.Inputs))!;
        Assert.That(e.Message, Does.Contain(c.Message));
        if (c.ReferenceChecks)
        {
            Assert.Throws<InvalidInputException>(() => Harness.RunReference(c.Graph, c.Weights, c.Inputs));
        }
    }

    private static Broken Break(string which)
    {
        int[] ids = Harness.ExpertIds(BadT, BadK, BadE, 9).AsSpan<int>().ToArray();
        int[] counts = new int[BadE];
        foreach (int id in ids) { counts[id]++; }
        int[] offsets = new int[BadE + 1];
        for (int e = 0; e < BadE; e++) { offsets[e + 1] = offsets[e] + counts[e]; }
        int busy = Array.FindIndex(counts, n => n > 0);
        switch (which)
        {
            case "token_id_past_table":
                return Hash(t => t[2] = BadV, null, "HashRoute 'hash': token id 20 at token_ids[2] is outside the hash table (0..19)");
            case "token_id_negative": return Hash(t => t[30] = -1, null, "token id -1 at token_ids[30] is outside the hash table");
            // Token 15 is the first to read row 5 ((15 * 7) % 20).
            case "table_entry_not_an_expert":
                return Hash(null, r => r[5 * BadK + 1] = BadE, "tid2eid[5, 1] = 12 is not an expert id (0..11)");
            case "table_row_with_duplicate":
                return Hash(null, r => r[5 * BadK + 2] = r[5 * BadK], "HashRoute 'hash': tid2eid row 5 names expert");
            case "weights_id_first_of_two":
                (ids[5 * BadK + 1], ids[30 * BadK + 2]) = (BadE, -1);
                return Ids(b => b.RouteWeights("weights", b.Input("p", DType.F32, Dim.Tokens, BadE), Id(b), true, 1f, 0f), ids, null,
                    "RouteWeights 'weights': expert id 12 at topk_ids[5, 1] is outside 0..11", true);
            case "histogram_id_in_last_partial_vector":
                ids[^1] = -1;
                return Ids(b => b.ExpertHistogram("hist", Id(b), BadE), ids, null,
                    "ExpertHistogram 'hist': expert id -1 at topk_ids[36, 2] is outside 0..11", true);
            case "permutation_id":
                ids[0] = BadE;
                return Ids(Permutation, ids, offsets, "BuildPermutation 'perm': expert id 12 at topk_ids[0, 0]", true);
            case "scan_negative_count":
                counts[3] = -2;
                return Scan(counts, "ExclusiveScan 'scan': counts[3] = -2 is negative");
            case "offsets_decrease":
                offsets[2] = offsets[1] - 1;
                return Ids(Permutation, ids, offsets, $"offsets[2] = {offsets[2]} is below offsets[1] = {offsets[1]}", false);
            case "segment_too_small":
                offsets[busy + 1]--;
                return Ids(Permutation, ids, offsets,
                    $"BuildPermutation 'perm': expert {busy} has {counts[busy]} rows in topk_ids " +
                    $"but its segment in 'offsets' holds {counts[busy] - 1}",
                    false);
            default:
                offsets[BadE] = BadT * BadK + 1;
                return Ids(Permutation, ids, offsets,
                    $"offsets[12] = {BadT * BadK + 1} is past the {BadT * BadK} rows of pos_to_token", false);
        }
    }

    private static Value Id(GraphBuilder b) => b.Input("ids", DType.I32, Dim.Tokens, BadK);

    private static Value Permutation(GraphBuilder b) =>
        b.BuildPermutation("perm", Id(b), b.Input("off", DType.I32, BadE + 1), BadE, 1).PosToToken;

    /// <summary>A hash route over a valid table and valid token ids, each changed by its edit.</summary>
    private static Broken Hash(Action<int[]>? tokens, Action<int[]>? table, string message)
    {
        var rng = new Random(3);
        int[] rows = [.. Enumerable.Range(0, BadV).SelectMany(_ => Enumerable.Range(0, BadE).OrderBy(_ => rng.Next()).Take(BadK))];
        int[] tid = [.. Enumerable.Range(0, BadT).Select(i => i * 7 % BadV)];
        tokens?.Invoke(tid);
        table?.Invoke(rows);
        var b = new GraphBuilder();
        b.Output(b.HashRoute("hash", b.Input("tid", DType.I32, Dim.Tokens), b.Weight("table", DType.I32, BadV, BadK), BadE));
        return new Broken(b.Build(), new() { ["table"] = HostTensor.FromI32(new Shape(BadV, BadK), rows) },
            new() { ["tid"] = HostTensor.FromI32(new Shape(BadT), tid) }, message, true);
    }

    /// <summary>One op over the ids (and offsets when given), with scores for the ops that take them.</summary>
    private static Broken Ids(Func<GraphBuilder, Value> op, int[] ids, int[]? offsets, string message, bool referenceChecks)
    {
        var b = new GraphBuilder();
        b.Output(op(b));
        var inputs = new Dictionary<string, HostTensor>
        {
            ["ids"] = HostTensor.FromI32(new Shape(BadT, BadK), ids),
            ["p"] = Harness.Random(new Shape(BadT, BadE), 4),
        };
        if (offsets is not null)
        {
            inputs["off"] = HostTensor.FromI32(new Shape(BadE + 1), offsets);
        }

        return new Broken(b.Build(), [], inputs, message, referenceChecks);
    }

    private static Broken Scan(int[] counts, string message)
    {
        var b = new GraphBuilder();
        b.Output(b.ExclusiveScan("scan", b.Input("counts", DType.I32, BadE), BadE, 4));
        return new Broken(b.Build(), [], new() { ["counts"] = HostTensor.FromI32(new Shape(BadE), counts) }, message, false);
    }
}
