using Accel.Backends;
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

        public PlanInstance(ExecutionPlan plan, IReadOnlyList<IBackend> chain,
            Dictionary<(int Value, int Backend), IDeviceBuffer> weights)
        {
            Plan = plan;
            _chain = chain;
            _weights = weights;
            try
            {
                Allocate();
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public ExecutionPlan Plan { get; }

        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs)
        {
            var graph = Plan.Graph;
            foreach (var ((value, backend), buffer) in _buffers)
            {
                var v = graph.Values[value];
                if (v.Role == ValueRole.Input)
                {
                    _chain[backend].Upload(buffer, inputs[v.Name].ReadOnlyBytes);
                }
            }

            foreach (var step in Plan.Steps)
            {
                switch (step)
                {
                    case TransferStep t:
                        {
                            var desc = Plan.Values[t.ValueId];
                            var staging = new byte[desc.ByteSize];
                            _chain[t.From].Download(_buffers[(t.ValueId, t.From)], staging);
                            _chain[t.To].Upload(_buffers[(t.ValueId, t.To)], staging);
                            break;
                        }

                    case ExecuteStep e:
                        {
                            var ins = e.Node.Inputs.Select(i => i < 0 ? null : Lookup(i, e.Backend)).ToArray();
                            var outs = e.Node.Outputs.Select(o => _buffers[(o, e.Backend)]).ToArray();
                            _chain[e.Backend].Execute(e.Node, ins, outs);
                            break;
                        }
                }
            }

            var result = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
            foreach (int o in graph.Outputs)
            {
                var desc = Plan.Values[o];
                var host = HostTensor.Zeros(desc.Type, desc.Shape);
                int backend = _home[o];
                _chain[backend].Synchronize();
                _chain[backend].Download(_buffers[(o, backend)], host.Bytes);
                result[desc.Name] = host;
            }

            return result;
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
    }
}
