using System.Collections.Immutable;
using Accel.Backends.Reference;
using Accel.Errors;
using Accel.Execution;
using Accel.Graph;
using Accel.Passes;
using Accel.Types;
using G = Accel.Graph.Graph;

namespace Accel.Core.Tests.Moe.Rejections;

/// <summary>GraphBuilder, ValidatePass and GraphSession errors: each names the node and what to fix.</summary>
public sealed class GraphRejectionTests
{
    private static GraphValidationException Invalid(Action build) => Assert.Throws<GraphValidationException>(build)!;

    [Test]
    public void Shape_mismatch_between_input_and_weight()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, 48);
        var w = b.Weight("router", DType.F32, 16, 40);
        var ex = Invalid(() => b.RouterGemm("router_gemm", x, w));
        Assert.That(ex.Node, Is.EqualTo("router_gemm"));
        Assert.That(ex.Message, Does.Contain("Graph node 'router_gemm'").And.Contain("input width of 'router_weight' [E, D] is 40 but must be 48"));
    }

    [Test]
    public void Shape_mismatch_between_two_nodes()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, 8);
        var g = b.RouterGemm("gate", x, b.Weight("wg", DType.F32, 6, 8));
        var u = b.RouterGemm("up", x, b.Weight("wu", DType.F32, 5, 8));
        var ex = Invalid(() => b.SwiGlu("act", g, u, null));
        Assert.That(ex.Message, Does.Contain("'gate' [T, 6] and 'up' [T, 5] must have the same shape"));
    }

    [Test]
    public void Wrong_dtype_into_a_node()
    {
        var b = new GraphBuilder();
        var ids = b.Input("ids", DType.I32, Dim.Tokens, 4);
        var ex = Invalid(() => b.RouterScore("score", ids, ScoreFunc.Softmax));
        Assert.That(ex.Message, Does.Contain("input 'logits'").And.Contain("has dtype i32 but must be one of {f32}"));
        var p = b.Input("p", DType.F32, Dim.Tokens, 4);
        ex = Invalid(() => b.RouteWeights("w", p, p, true, 1, 0));
        Assert.That(ex.Message, Does.Contain("input 'topk_ids'").And.Contain("has dtype f32 but must be one of {i32}"));
    }

    [Test]
    public void Quantised_weight_without_or_with_a_wrong_scale()
    {
        var b = new GraphBuilder();
        var rows = b.Input("rows", DType.F32, Dim.Tokens, 136);
        var off = b.Input("off", DType.I32, 3);
        var fp8 = b.Weight("w8", DType.F8E4M3, 2, 200, 136);
        Assert.That(Invalid(() => b.GroupedGemm("g1", rows, fp8, null, off)).Message, Does.Contain("f8e4m3 weight w8 needs its scale"));
        var bad = b.Weight("s8", DType.F32, 2, 1, 2);
        Assert.That(Invalid(() => b.GroupedGemm("g2", rows, fp8, bad, off)).Message, Does.Contain("must have shape [2, 2, 2]"));
        var fp4 = b.Weight("w4", DType.F4E2M1, 2, 200, 136);
        var f32Scale = b.Weight("s4", DType.F32, 2, 200, 5);
        Assert.That(Invalid(() => b.GroupedGemm("g3", rows, fp4, f32Scale, off)).Message, Does.Contain("must be one of {ue8m0}"));
        var plain = b.Weight("wf", DType.F32, 2, 200, 136);
        Assert.That(Invalid(() => b.GroupedGemm("g4", rows, plain, f32Scale, off)).Message, Does.Contain("takes no scale"));
    }

    [Test]
    public void Node_name_reuse()
    {
        var b = new GraphBuilder();
        var q = b.Input("q", DType.F32, Dim.Tokens, 8);
        b.TopK("topk", q, 2);
        var ex = Invalid(() => b.TopK("topk", q, 3));
        Assert.That(ex.Message, Does.Contain("'topk'").And.Contain("already exists"));
        Assert.That(Invalid(() => b.Input("q", DType.F32, Dim.Tokens)).Message, Does.Contain("already exists"));
        Assert.That(Invalid(() => b.RouterScore("q", q, ScoreFunc.Sigmoid)).Message, Does.Contain("already exists"));
    }

    [Test]
    public void Missing_input_wrong_attributes_and_foreign_values()
    {
        var b = new GraphBuilder();
        Assert.That(Invalid(() => b.Add(OpKind.TopK, "t", new TopKAttributes(2), [null])).Message,
            Does.Contain("required input 'selection_scores' is missing"));
        var q = b.Input("q", DType.F32, Dim.Tokens, 8);
        Assert.That(Invalid(() => b.Add(OpKind.TopK, "t2", new HashRouteAttributes(8), q)).Message,
            Does.Contain("expects attributes of type TopKAttributes"));
        Assert.That(Invalid(() => b.Add(OpKind.TopK, "t3", new TopKAttributes(2), q, q)).Message, Does.Contain("takes 1 inputs"));
        var other = new GraphBuilder().Input("z", DType.F32, Dim.Tokens, 8);
        Assert.That(Invalid(() => b.TopK("t4", other, 2)).Message, Does.Contain("does not belong to this graph builder"));
        Assert.That(Invalid(() => b.Build()).Message, Does.Contain("no output is marked"));
    }

    [TestCase(3, 2, "3 groups do not divide 16 experts")]
    [TestCase(4, 5, "top-k groups is 5 but must be between 1 and the group count 4")]
    [TestCase(16, 2, "top-2-sum group score needs at least 2 experts per group")]
    public void Bad_group_limits(int groups, int keep, string expected)
    {
        var b = new GraphBuilder();
        var q = b.Input("q", DType.F32, Dim.Tokens, 16);
        Assert.That(Invalid(() => b.GroupLimitMask("gl", q, groups, keep, GroupScore.Top2Sum)).Message, Does.Contain(expected));
    }

    [Test]
    public void K_beyond_the_experts_or_the_kept_groups()
    {
        var b = new GraphBuilder();
        var q = b.Input("q", DType.F32, Dim.Tokens, 16);
        Assert.That(Invalid(() => b.TopK("big", q, 17)).Message, Does.Contain("K = 17 must be between 1 and the number of experts (16)"));
        var masked = b.GroupLimitMask("gl", q, 4, 2, GroupScore.Max);
        b.Output(b.TopK("topk", masked, 9));
        var ex = Invalid(() => new ValidatePass().Run(b.Build()));
        Assert.That(ex.Message, Does.Contain("Graph node 'topk'").And.Contain("K = 9 exceeds the 8 experts in the 2 kept groups"));
    }

    [Test]
    public void Segment_alignment_mismatch()
    {
        var b = new GraphBuilder();
        var ids = b.Input("ids", DType.I32, Dim.Tokens, 2);
        var off = b.ExclusiveScan("scan", b.ExpertHistogram("hist", ids, 4), 4, 1);
        b.Output(b.BuildPermutation("perm", ids, off, 4, 8).PosToToken);
        Assert.That(Invalid(() => new ValidatePass().Run(b.Build())).Message,
            Does.Contain("uses experts/alignment 4/8 but its offsets were scanned with 4/1"));
    }

    private static G SmallGraph()
    {
        var b = new GraphBuilder();
        var x = b.Input("x", DType.F32, Dim.Tokens, 4);
        var z = b.RouterGemm("gemm", x, b.Weight("w", DType.F32, 3, 4));
        return b.Output(b.RouterScore("score", z, ScoreFunc.Sigmoid)).Build();
    }

    [Test]
    public void Stored_shape_that_disagrees_with_the_op()
    {
        var g = SmallGraph();
        var values = g.Values.ToArray();
        var z = values.Single(v => v.Name == "gemm");
        values[z.Id] = z with { Shape = new SymbolicShape(Dim.Tokens, 5) };
        var ex = Invalid(() => new ValidatePass().Run(new G([.. values], g.Nodes, g.Outputs)));
        Assert.That(ex.Message, Does.Contain("Graph node 'gemm'").And.Contain("stored as f32[T, 5] but the op makes f32[T, 3]")
            .And.Contain("infer-shapes"));
        Assert.That(new InferShapesPass().Run(new G([.. values], g.Nodes, g.Outputs))["gemm"].Shape, Is.EqualTo(new SymbolicShape(Dim.Tokens, 3)));
    }

    [Test]
    public void Name_used_twice_and_nodes_out_of_order()
    {
        var g = SmallGraph();
        var values = g.Values.ToArray();
        values[^1] = values[^1] with { Name = "x" };
        Assert.That(Invalid(() => new ValidatePass().Run(new G([.. values], g.Nodes, g.Outputs))).Message, Does.Contain("used twice"));
        var swapped = ImmutableArray.Create(g.Nodes[1] with { Id = 0 }, g.Nodes[0] with { Id = 1 });
        Assert.That(Invalid(() => new ValidatePass().Run(new G(g.Values, swapped, g.Outputs))).Message,
            Does.Contain("Graph node 'score'").And.Contain("reads 'gemm' before any node produces it"));
    }

    [Test]
    public void Session_without_a_weight_or_an_input_or_with_a_wrong_input()
    {
        using var backend = new ReferenceBackend();
        var ex = Assert.Throws<InvalidInputException>(() => new GraphSession(SmallGraph(), [backend], new Dictionary<string, HostTensor>()))!;
        Assert.That(ex.Message, Does.Contain("weight 'w' (f32[3, 4]) was not supplied"));
        var w = new Dictionary<string, HostTensor> { ["w"] = HostTensor.Zeros(DType.F32, new Shape(3, 4)) };
        using var session = new GraphSession(SmallGraph(), [backend], w);
        Assert.That(Assert.Throws<InvalidInputException>(() => session.Run(new Dictionary<string, HostTensor>()))!.Message,
            Does.Contain("input 'x' (f32[T, 4]) was not supplied"));
        var wrong = new Dictionary<string, HostTensor> { ["x"] = HostTensor.Zeros(DType.BF16, new Shape(2, 4)) };
        Assert.That(Assert.Throws<InvalidInputException>(() => session.Run(wrong))!.Message,
            Does.Contain("input 'x' must be f32[T, 4] (here f32[2, 4]) but is bf16[2, 4]"));
        Assert.Throws<ArgumentException>(() => new GraphSession(SmallGraph(), [], w));
    }
}
