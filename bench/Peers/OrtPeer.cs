using System.Runtime.InteropServices;
using Accel.Cli.Bench;
using Accel.Types;
using Microsoft.ML.OnnxRuntime;
using N = Accel.Moe.MoeWeightNames;

namespace Accel.Peers;

/// <summary>
/// The layer in ONNX Runtime: DeepSeek routing (sigmoid, bias, top-2-sum group limit, top-k,
/// renormalised weights) in ordinary ONNX ops, then the com.microsoft MoE contrib op with fused
/// SwiGLU experts, plus the shared expert as dense Gemm nodes. ORT's MoE takes router logits and
/// applies softmax + top-k + renormalisation itself, so the graph hands it log(w) at the chosen
/// experts and -1e9 elsewhere (softmax then reproduces w exactly); the routed scale 2.5 is folded
/// into the down-projection weights.
/// </summary>
internal sealed class OrtPeer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly int _hidden;
    private readonly OutputBuffers _outputs;

    public OrtPeer(BenchOptions o, IReadOnlyDictionary<string, HostTensor> w, int threads)
    {
        _hidden = o.Hidden;
        _outputs = new OutputBuffers(o.Hidden);
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "1");
        _session = new InferenceSession(Build(o, w), options);
    }

    public string Name => "onnxruntime";

    public float[] Run(float[] x, int tokens)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(x, [tokens, _hidden]);
        using var outputs = _session.Run(new RunOptions(), ["x"], [input], ["out"]);
        var result = _outputs.For(tokens);
        outputs[0].GetTensorDataAsSpan<float>().CopyTo(result);
        return result;
    }

    private static byte[] Build(BenchOptions o, IReadOnlyDictionary<string, HostTensor> w)
    {
        int d = o.Hidden, e = o.Experts, i = o.ExpertWidth, g = o.Groups, is_ = o.SharedExperts * i;
        var c = o.Config();
        var graph = new OnnxGraph();
        graph.Input("x", OnnxGraph.Float, "T", d);
        graph.Output("out", OnnxGraph.Float, "T", d);
        string wg = graph.Initializer("router", OnnxGraph.Float, w[N.Router].ReadOnlyBytes, e, d);
        string bias = graph.Initializer("bias", OnnxGraph.Float, w[N.RouterBias].ReadOnlyBytes, e);
        var logits = graph.Node("Gemm", ["x", wg], 1, "", ("transB", 1L))[0];
        var p = graph.One("Sigmoid", logits);
        var q = graph.One("Add", p, bias);
        var q3 = graph.One("Reshape", q, graph.Constant("shape_g", [-1L, g, e / g], 3));
        var top2 = graph.Node("TopK", [q3, graph.Constant("k2", [2L], 1)], 2, "", ("axis", -1L));
        var axisLast = graph.Constant("axis_last", [-1L], 1);
        var gs = graph.Node("ReduceSum", [top2[0], axisLast], 1, "", ("keepdims", 0L))[0];
        var topG = graph.Node("TopK", [gs, graph.Constant("kg", [(long)c.TopGroups], 1)], 2, "", ("axis", -1L));
        var threshold = graph.One("Slice", topG[0], graph.Constant("slice_start", [(long)c.TopGroups - 1], 1),
            graph.Constant("slice_end", [(long)c.TopGroups], 1), graph.Constant("slice_axis", [1L], 1));
        var keep = graph.One("GreaterOrEqual", gs, threshold);
        var keep3 = graph.One("Unsqueeze", keep, graph.Constant("axis2", [2L], 1));
        var masked3 = graph.One("Where", keep3, q3, graph.Constant("neg_inf", [float.NegativeInfinity]));
        var masked = graph.One("Reshape", masked3, graph.Constant("shape_e", [-1L, e], 2));
        var top = graph.Node("TopK", [masked, graph.Constant("kk", [(long)o.TopK], 1)], 2, "", ("axis", -1L));
        var wsel = graph.Node("GatherElements", [p, top[1]], 1, "", ("axis", 1L))[0];
        var wsum = graph.Node("ReduceSum", [wsel, axisLast], 1, "", ("keepdims", 1L))[0];
        var logw = graph.One("Log", graph.One("Div", wsel, wsum));
        var fill = graph.Node("ConstantOfShape", [graph.One("Shape", p)], 1, "",
            ("value", OnnxGraph.Tensor("v", OnnxGraph.Float, BitConverter.GetBytes(-1e9f), 1)))[0];
        var router = graph.Node("ScatterElements", [fill, top[1], logw], 1, "", ("axis", 1L))[0];
        string fc1 = graph.Initializer("fc1", OnnxGraph.Float, Interleave(w[N.Experts("gate")], w[N.Experts("up")], e, i, d), e, 2 * i, d);
        string fc2 = graph.Initializer("fc2", OnnxGraph.Float, Scaled(w[N.Experts("down")], c.RouteScale), e, d, i);
        var moe = graph.Node("MoE", ["x", router, fc1, "", fc2], 1, "com.microsoft",
            ("k", (long)o.TopK), ("activation_type", "swiglu"), ("normalize_routing_weights", 1L), ("swiglu_fusion", 1L),
            ("activation_alpha", 1f), ("activation_beta", 0f))[0];
        string output = moe;
        if (is_ > 0)
        {
            string s1 = graph.Initializer("s1", OnnxGraph.Float, w[N.Shared("gate")].ReadOnlyBytes, is_, d);
            string s3 = graph.Initializer("s3", OnnxGraph.Float, w[N.Shared("up")].ReadOnlyBytes, is_, d);
            string s2 = graph.Initializer("s2", OnnxGraph.Float, w[N.Shared("down")].ReadOnlyBytes, d, is_);
            var h1 = graph.Node("Gemm", ["x", s1], 1, "", ("transB", 1L))[0];
            var h3 = graph.Node("Gemm", ["x", s3], 1, "", ("transB", 1L))[0];
            var act = graph.One("Mul", graph.One("Mul", h1, graph.One("Sigmoid", h1)), h3);
            var z = graph.Node("Gemm", [act, s2], 1, "", ("transB", 1L))[0];
            output = graph.One("Add", moe, z);
        }

        graph.Node("Identity", [output], ["out"]);
        return graph.Serialize(("", 17), ("com.microsoft", 1));
    }

    private static byte[] Interleave(HostTensor gate, HostTensor up, int e, int i, int d)
    {
        var g = gate.AsSpan<float>();
        var u = up.AsSpan<float>();
        var result = new float[(long)e * 2 * i * d];
        for (int x = 0; x < e; x++)
        {
            for (int r = 0; r < i; r++)
            {
                g.Slice((x * i + r) * d, d).CopyTo(result.AsSpan(((x * 2 * i) + 2 * r) * d, d));
                u.Slice((x * i + r) * d, d).CopyTo(result.AsSpan(((x * 2 * i) + 2 * r + 1) * d, d));
            }
        }

        return MemoryMarshal.AsBytes(result.AsSpan()).ToArray();
    }

    private static byte[] Scaled(HostTensor t, float s)
    {
        var v = t.AsSpan<float>().ToArray();
        for (int k = 0; k < v.Length; k++) { v[k] *= s; }
        return MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
    }

    public void Dispose() => _session.Dispose();
}
