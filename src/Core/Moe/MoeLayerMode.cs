namespace Accel.Moe;

/// <summary>Which part of a layer's MoE block a <see cref="MoeLayer"/> runs.</summary>
public enum MoeLayerMode
{
    /// <summary>
    /// The whole block: router, routing, experts, combine and shared expert. Inputs
    /// <c>hidden_states</c> (and <c>token_ids</c> for hash layers); see <see cref="MoeLayer.Run(Accel.Types.HostTensor, Accel.Types.HostTensor?)"/>.
    /// </summary>
    Full,

    /// <summary>
    /// The experts only, with the routing given by the caller (<c>topk_ids</c>, <c>topk_weights</c>):
    /// dispatch, experts, combine and the shared expert. This is the fused-MoE hook of serving
    /// runtimes that route themselves; see <see cref="MoeLayer.RunRouted(Accel.Types.HostTensor, Accel.Types.HostTensor, Accel.Types.HostTensor)"/>.
    /// </summary>
    Routed,
}
