using Accel.Cli.Bench;
using Accel.Types;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using N = Accel.Moe.MoeWeightNames;

namespace Accel.Peers;

/// <summary>
/// The layer in TorchSharp (LibTorch, CPU): the same DeepSeek routing in tensor ops, then the usual
/// eager MoE loop (sort the (token, slot) pairs by expert, one gather / two linears / SwiGLU / linear
/// / index_add per touched expert, as in the Hugging Face implementations), plus the shared expert.
/// </summary>
internal sealed class TorchPeer : IDisposable
{
    private readonly BenchOptions _o;
    private readonly OutputBuffers _outputs;
    private readonly Tensor _router, _bias, _w1, _w3, _w2, _s1, _s3, _s2;
    private readonly Tensor[] _gate, _up, _down;

    public TorchPeer(BenchOptions o, IReadOnlyDictionary<string, HostTensor> w, int threads)
    {
        _o = o;
        _outputs = new OutputBuffers(o.Hidden);
        torch.set_num_threads(threads);
        Tensor T(string name) => torch.tensor(w[name].AsSpan<float>().ToArray(), [.. w[name].Shape]);
        _router = T(N.Router);
        _bias = T(N.RouterBias);
        _w1 = T(N.Experts("gate"));
        _w3 = T(N.Experts("up"));
        _w2 = T(N.Experts("down"));
        _gate = Enumerable.Range(0, o.Experts).Select(e => _w1[e]).ToArray();
        _up = Enumerable.Range(0, o.Experts).Select(e => _w3[e]).ToArray();
        _down = Enumerable.Range(0, o.Experts).Select(e => _w2[e]).ToArray();
        _s1 = T(N.Shared("gate"));
        _s3 = T(N.Shared("up"));
        _s2 = T(N.Shared("down"));
    }

    public string Name => "torchsharp";

    public float[] Run(float[] xs, int tokens)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var c = _o.Config();
        int e = _o.Experts, k = _o.TopK, g = _o.Groups;
        var x = torch.tensor(xs, [tokens, _o.Hidden]);
        var p = F.linear(x, _router).sigmoid();
        var q3 = (p + _bias).view(tokens, g, e / g);
        var groupScore = q3.topk(2, -1).values.sum(-1);
        var keptGroups = groupScore.topk(c.TopGroups, -1).indexes;
        var keep = torch.zeros_like(groupScore).scatter_(1, keptGroups, torch.ones(keptGroups.shape));
        var masked = q3.masked_fill(keep.unsqueeze(-1).eq(0), float.NegativeInfinity).view(tokens, e);
        var ids = masked.topk(k, -1).indexes;
        var weights = p.gather(1, ids);
        weights = weights / weights.sum(-1, keepdim: true) * c.RouteScale;
        var y = torch.zeros_like(x);
        var flat = ids.view(-1);
        var order = flat.argsort();
        long[] counts = flat.bincount(null, e).data<long>().ToArray();
        var tokenOf = order.div(k, RoundingMode.floor);
        var sortedWeights = weights.view(-1).index_select(0, order);
        long start = 0;
        for (int x_ = 0; x_ < e; x_++)
        {
            long n = counts[x_];
            if (n == 0)
            {
                continue;
            }

            var tok = tokenOf.narrow(0, start, n);
            var xe = x.index_select(0, tok);
            var h = F.silu(F.linear(xe, _gate[x_])) * F.linear(xe, _up[x_]);
            var o = F.linear(h, _down[x_]) * sortedWeights.narrow(0, start, n).unsqueeze(1);
            y.index_add_(0, tok, o, 1f);
            start += n;
        }

        if (_o.SharedExperts > 0)
        {
            y += F.linear(F.silu(F.linear(x, _s1)) * F.linear(x, _s3), _s2);
        }

        var result = _outputs.For(tokens);
        y.data<float>().CopyTo(result, 0);
        return result;
    }

    public void Dispose()
    {
        foreach (var t in _gate.Concat(_up).Concat(_down)) { t.Dispose(); }
        foreach (var t in new[] { _router, _bias, _w1, _w3, _w2, _s1, _s3, _s2 }) { t.Dispose(); }
    }
}
