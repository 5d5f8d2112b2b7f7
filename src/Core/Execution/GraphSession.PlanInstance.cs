using Accel.Backends;
using Accel.Errors;
using Accel.Graph;
using Accel.Types;

namespace Accel.Execution;

public sealed partial class GraphSession
{
    /// <summary>A plan with its activation buffers, allocated once and reused by every run.</summary>
    private sealed class PlanInstance : IDisposable
    {
        private readonly IReadOnlyList<IBackend> _chain;
        private readonly Dictionary<(int Value, int Backend), IDeviceBuffer> _weights;
        private readonly Dictionary<(int Value, int Backend), IDeviceBuffer> _buffers = [];
        private readonly Dictionary<int, int> _home = [];

        // Per step, the buffers a node reads and writes (fixed for the plan's life), and the input copies.
        private readonly (IDeviceBuffer?[] Inputs, IDeviceBuffer[] Outputs)[] _operands = [];
        private readonly (int Value, int Backend, IDeviceBuffer Buffer)[] _uploads = [];

        // Host staging for values that move between backends, grown to the largest and kept.
        private byte[] _staging = [];

        public PlanInstance(ExecutionPlan plan, IReadOnlyList<IBackend> chain,
            Dictionary<(int Value, int Backend), IDeviceBuffer> weights)
        {
            Plan = plan;
            _chain = chain;
            _weights = weights;
            try
            {
                Allocate();
                _operands = [.. plan.Steps.Select(step => step is ExecuteStep e
                    ? (e.Node.Inputs.Select(i => i < 0 ? null : Lookup(i, e.Backend)).ToArray(), e.Node.Outputs.Select(o => _buffers[(o, e.Backend)]).ToArray())
                    : (Array.Empty<IDeviceBuffer?>(), Array.Empty<IDeviceBuffer>()))];
                _uploads = [.. _buffers.Where(p => plan.Graph.Values[p.Key.Value].Role == ValueRole.Input)
                    .Select(p => (p.Key.Value, p.Key.Backend, p.Value))];
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public ExecutionPlan Plan { get; }

        /// <summary>
        /// Runs the plan. A device failure of a step (a node, or a copy at the run's edges) becomes an
        /// <see cref="ExecutionException"/> naming the node or value, the device and the token count;
        /// bad data reported by a device (<see cref="InvalidInputException"/>) and use after Dispose
        /// keep their own errors.
        /// </summary>
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs, IReadOnlyDictionary<string, HostTensor>? into)
        {
            Activity? doing = null;
            try
            {
                return RunSteps(inputs, into, ref doing);
            }
            catch (Exception e) when (doing is { } at && e is not (InvalidInputException or ObjectDisposedException or OutOfMemoryException))
            {
                throw Failure(at, e);
            }
        }

        private IReadOnlyDictionary<string, HostTensor> RunSteps(IReadOnlyDictionary<string, HostTensor> inputs,
            IReadOnlyDictionary<string, HostTensor>? into, ref Activity? doing)
        {
            var graph = Plan.Graph;
            foreach (var (value, backend, buffer) in _uploads)
            {
                doing = new Activity(ActivityKind.UploadInput, value, backend);
                _chain[backend].Upload(buffer, inputs[graph.Values[value].Name].ReadOnlyBytes);
            }

            for (int s = 0; s < Plan.Steps.Length; s++)
            {
                var step = Plan.Steps[s];
                switch (step)
                {
                    case TransferStep t:
                        {
                            doing = new Activity(ActivityKind.Transfer, t.ValueId, t.To, From: t.From);
                            var desc = Plan.Values[t.ValueId];
                            if (_staging.Length < desc.ByteSize)
                            {
                                _staging = new byte[desc.ByteSize];
                            }

                            var staging = _staging.AsSpan(0, checked((int)desc.ByteSize));
                            _chain[t.From].Download(_buffers[(t.ValueId, t.From)], staging);
                            _chain[t.To].Upload(_buffers[(t.ValueId, t.To)], staging);
                            break;
                        }

                    case ExecuteStep e:
                        {
                            doing = new Activity(ActivityKind.Execute, -1, e.Backend, e.Node);
                            _chain[e.Backend].Execute(e.Node, _operands[s].Inputs, _operands[s].Outputs);
                            break;
                        }
                }
            }

            var fresh = into is null ? new Dictionary<string, HostTensor>(StringComparer.Ordinal) : null;
            foreach (int o in graph.Outputs)
            {
                var desc = Plan.Values[o];
                var host = into is null ? HostTensor.Zeros(desc.Type, desc.Shape) : into[desc.Name];
                int backend = _home[o];
                doing = new Activity(ActivityKind.DownloadOutput, o, backend);
                _chain[backend].Synchronize();
                _chain[backend].Download(_buffers[(o, backend)], host.Bytes);
                fresh?.Add(desc.Name, host);
            }

            return fresh ?? into!;
        }

        /// <summary>The error for a step that failed: what failed, where, for how many tokens, and what to do.</summary>
        private ExecutionException Failure(Activity at, Exception cause)
        {
            var device = _chain[at.Backend].Device;
            string value = at.Value >= 0 ? Plan.Values[at.Value].Name : "";
            string what = at.Kind switch
            {
                ActivityKind.Execute => $"Node '{at.Node!.Name}' ({at.Node.Kind})",
                ActivityKind.UploadInput => $"Uploading the input '{value}'",
                ActivityKind.Transfer => $"Moving '{value}' from {_chain[at.From].Device.Id}",
                _ => $"Reading the output '{value}'",
            };
            string prefix = $"{what} failed on {device.Id}";

            // A backend that already names the node (the kernel backends do, for callers that execute
            // nodes without a session) is not repeated.
            string detail = cause is AccelException ? cause.Message : $"{cause.GetType().Name}: {cause.Message}";
            if (detail.StartsWith(prefix + ":", StringComparison.Ordinal))
            {
                detail = detail[(prefix.Length + 1)..].TrimStart();
            }

            string sentence = detail.TrimEnd().EndsWith('.') ? detail.TrimEnd() : detail.TrimEnd() + ".";
            return new ExecutionException(device.Backend, device.Id, at.Node?.Name, Plan.Tokens,
                $"{prefix} in a run of {Plan.Tokens} tokens: {sentence} The session freed its activation buffers and " +
                "can run again; if the failure repeats, choose another device (e.g. 'reference') or report this message.",
                cause);
        }

        private IDeviceBuffer Lookup(int value, int backend) =>
            _weights.TryGetValue((value, backend), out var w) ? w : _buffers[(value, backend)];

        private void Allocate()
        {
            var graph = Plan.Graph;
            foreach (var step in Plan.Steps)
            {
                switch (step)
                {
                    case ExecuteStep e:
                        foreach (int i in e.Node.Inputs.Where(i => i >= 0 && graph.Values[i].Role == ValueRole.Input))
                        {
                            Ensure(i, e.Backend);
                        }

                        foreach (int o in e.Node.Outputs)
                        {
                            Ensure(o, e.Backend);
                            _home[o] = e.Backend;
                        }

                        break;
                    case TransferStep t:
                        Ensure(t.ValueId, t.To);
                        break;
                }
            }
        }

        private void Ensure(int value, int backend)
        {
            if (!_buffers.ContainsKey((value, backend)))
            {
                _buffers[(value, backend)] = _chain[backend].Allocate(Plan.Values[value]);
            }
        }

        public void Dispose()
        {
            foreach (var b in _buffers.Values)
            {
                b.Dispose();
            }

            _buffers.Clear();
        }

        private enum ActivityKind
        {
            UploadInput,
            Transfer,
            Execute,
            DownloadOutput,
        }

        /// <summary>The step a run is at, kept so that a failure can say where it happened.</summary>
        /// <param name="Kind">What the step does.</param>
        /// <param name="Value">The value copied (-1 for a node).</param>
        /// <param name="Backend">The backend the step runs on (the destination of a transfer).</param>
        /// <param name="Node">The node executed, or null.</param>
        /// <param name="From">The source backend of a transfer, or -1.</param>
        private readonly record struct Activity(ActivityKind Kind, int Value, int Backend, OpNode? Node = null, int From = -1);
    }
}
