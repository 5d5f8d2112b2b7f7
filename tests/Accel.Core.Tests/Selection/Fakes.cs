using Accel.Backends;
using Accel.Graph;
using Accel.Selection;
using Accel.Types;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Tests.Selection;

/// <summary>Environment variables from a dictionary instead of the process.</summary>
internal sealed class FakeEnvironment(params (string Name, string Value)[] variables) : IAccelEnvironment
{
    private readonly Dictionary<string, string> _variables = variables.ToDictionary(v => v.Name, v => v.Value);

    public string? GetVariable(string name) => _variables.GetValueOrDefault(name);
}

/// <summary>A provider that lists the given devices and opens <see cref="FakeBackend"/>s on the usable ones.</summary>
internal sealed class FakeProvider(string name, OpKind[] unsupported, params DeviceDescriptor[] devices) : IBackendProvider
{
    public FakeProvider(string name, params DeviceDescriptor[] devices) : this(name, [], devices) { }

    public string Name => name;

    public List<FakeBackend> Opened { get; } = [];

    public IReadOnlyList<DeviceDescriptor> EnumerateDevices() => devices;

    public bool Claims(string deviceName) => devices.Any(d => Accel.Devices.DeviceSpec.Parse(d.Id).Name == deviceName);

    public IBackend Create(DeviceDescriptor device)
    {
        var backend = new FakeBackend(device, unsupported);
        Opened.Add(backend);
        return backend;
    }

    public static DeviceDescriptor Present(string id, AutoRank rank = AutoRank.Gpu) =>
        new(id, id.Split(':')[0], $"fake {id}", DeviceKind.Gpu, null, DeviceStatus.Present, "", rank);

    public static DeviceDescriptor Absent(string id, string why, AutoRank rank = AutoRank.Gpu) =>
        new(id, id.Split(':')[0], $"fake {id}", DeviceKind.Gpu, null, DeviceStatus.Absent, why, rank);
}

/// <summary>Allocates host buffers and supports every op but the listed kinds; it never executes.</summary>
internal sealed class FakeBackend(DeviceDescriptor device, OpKind[] unsupported) : BackendBase(device, null)
{
    public bool IsDisposed { get; private set; }

    public override OpTable Ops { get; } = OpTable.For("fake").With(Enum.GetValues<OpKind>().Except(unsupported));

    protected override IDeviceBuffer AllocateCore(TensorDesc desc) => new Buffer(this, desc);

    protected override void UploadCore(IDeviceBuffer destination, ReadOnlySpan<byte> source) => source.CopyTo(((Buffer)destination).Data);

    protected override void DownloadCore(IDeviceBuffer source, Span<byte> destination) => ((Buffer)source).Data.CopyTo(destination);

    protected override void ExecuteCore(OpNode node, IReadOnlyList<IDeviceBuffer?> inputs, IReadOnlyList<IDeviceBuffer> outputs) =>
        throw new NotSupportedException("The fake backend does not execute.");

    protected override void Dispose(bool disposing) => IsDisposed = true;

    private sealed class Buffer(FakeBackend owner, TensorDesc desc) : IDeviceBuffer
    {
        private bool _disposed;

        public byte[] Data { get; } = new byte[desc.ByteSize];

        public TensorDesc Desc => desc;

        public IBackend Owner => owner;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                owner.OnBufferReleased(this);
            }
        }
    }
}

/// <summary>Keeps every log message.</summary>
internal sealed class ListLogger : ILogger, ILoggerProvider
{
    private readonly Lock _gate = new();

    public List<(LogLevel Level, string Message)> Entries { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_gate)
        {
            Entries.Add((logLevel, formatter(state, exception)));
        }
    }

    public ILogger CreateLogger(string categoryName) => this;

    public void Dispose() { }
}
