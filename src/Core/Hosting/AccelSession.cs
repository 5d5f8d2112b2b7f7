using Accel.Backends;
using Accel.Execution;
using Accel.Selection;
using Accel.Types;

namespace Accel.Hosting;

/// <summary>
/// A <see cref="GraphSession"/> with the backends it was opened on. Runs are serialised by the
/// session, so one instance may be shared by threads; Dispose frees its buffers, then closes its backends.
/// </summary>
public sealed class AccelSession : IDisposable
{
    private readonly BackendChain _chain;

    internal AccelSession(DeviceSelection selection, BackendChain chain, GraphSession session)
    {
        Selection = selection;
        _chain = chain;
        Session = session;
    }

    /// <summary>The device choice and its reason.</summary>
    public DeviceSelection Selection { get; }

    /// <summary>The backends, the selected device first.</summary>
    public IReadOnlyList<IBackend> Backends => _chain.Backends;

    /// <summary>The underlying session (placements, plans).</summary>
    public GraphSession Session { get; }

    /// <summary>Runs the graph; see <see cref="GraphSession.Run"/>.</summary>
    /// <param name="inputs">Inputs by name.</param>
    /// <returns>Every graph output by name.</returns>
    public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => Session.Run(inputs);

    /// <summary>Runs the graph into output tensors the caller keeps; see <see cref="GraphSession.RunInto"/>.</summary>
    /// <param name="inputs">Inputs by name.</param>
    /// <param name="outputs">One tensor per graph output, by name, of its dtype and shape (<see cref="GraphSession.OutputShapes"/>).</param>
    public void RunInto(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyDictionary<string, HostTensor> outputs) => Session.RunInto(inputs, outputs);

    /// <summary>Frees the session's device memory and closes its backends.</summary>
    public void Dispose()
    {
        Session.Dispose();
        _chain.Dispose();
    }
}
