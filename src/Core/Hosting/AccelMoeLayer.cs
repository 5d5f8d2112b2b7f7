using Accel.Backends;
using Accel.Moe;
using Accel.Selection;
using Accel.Types;

namespace Accel.Hosting;

/// <summary>
/// A <see cref="MoeLayer"/> with the backends it was opened on. Thread-safe like
/// <see cref="AccelSession"/>; Dispose frees its buffers, then closes its backends.
/// </summary>
public sealed class AccelMoeLayer : IDisposable
{
    private readonly BackendChain _chain;

    internal AccelMoeLayer(DeviceSelection selection, BackendChain chain, MoeLayer layer)
    {
        Selection = selection;
        _chain = chain;
        Layer = layer;
    }

    /// <summary>The device choice and its reason.</summary>
    public DeviceSelection Selection { get; }

    /// <summary>The backends, the selected device first.</summary>
    public IReadOnlyList<IBackend> Backends => _chain.Backends;

    /// <summary>The underlying layer (config, graph, session).</summary>
    public MoeLayer Layer { get; }

    /// <summary>Runs the layer; see <see cref="MoeLayer.Run(Accel.Types.HostTensor, Accel.Types.HostTensor?)"/>.</summary>
    /// <param name="hiddenStates">[T, D] activations (f32, bf16 or f16).</param>
    /// <param name="tokenIds">[T] token ids, for hash layers.</param>
    /// <returns>Output and routing.</returns>
    public MoeResult Run(HostTensor hiddenStates, HostTensor? tokenIds = null) => Layer.Run(hiddenStates, tokenIds);

    /// <summary>
    /// Runs the layer into a result the caller keeps (from <see cref="MoeLayer.NewResult"/>), so repeated
    /// runs allocate no output memory; see <see cref="MoeLayer.Run(Accel.Types.HostTensor, MoeResult, Accel.Types.HostTensor?)"/>.
    /// </summary>
    /// <param name="hiddenStates">[T, D] activations (f32, bf16 or f16).</param>
    /// <param name="into">The result tensors for T tokens.</param>
    /// <param name="tokenIds">[T] token ids, for hash layers.</param>
    public void Run(HostTensor hiddenStates, MoeResult into, HostTensor? tokenIds = null) => Layer.Run(hiddenStates, into, tokenIds);

    /// <summary>Runs the experts on the caller's routing; see <see cref="MoeLayer.RunRouted(Accel.Types.HostTensor, Accel.Types.HostTensor, Accel.Types.HostTensor)"/>.</summary>
    /// <param name="hiddenStates">[T, D] activations (f32, bf16 or f16).</param>
    /// <param name="topkIds">[T, K] expert ids (i32 or i64).</param>
    /// <param name="topkWeights">[T, K] routing weights (f32, bf16 or f16).</param>
    /// <returns>The layer output [T, D] f32.</returns>
    public HostTensor RunRouted(HostTensor hiddenStates, HostTensor topkIds, HostTensor topkWeights) =>
        Layer.RunRouted(hiddenStates, topkIds, topkWeights);

    /// <summary>Frees the layer's device memory and closes its backends.</summary>
    public void Dispose()
    {
        Layer.Dispose();
        _chain.Dispose();
    }
}
