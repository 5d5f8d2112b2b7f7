using System.Collections.Concurrent;
using System.Text.Json;
using Accel.Composition;
using Accel.IO;
using Accel.Moe;
using Microsoft.Extensions.DependencyInjection;

namespace Accel.Native;

/// <summary>
/// The process-wide state behind the C ABI: the runtime services (built once per cpu thread count
/// through <see cref="AccelComposition.Create"/>, with <c>ACCEL_*</c> variables read at that moment)
/// and the table of live sessions. Handles are numbers, not addresses, so a released or made-up
/// handle is an error message instead of a crash.
/// </summary>
public static class NativeRuntime
{
    private static readonly Dictionary<int, AccelServices> s_services = [];
    private static readonly Lock s_servicesGate = new();
    private static readonly ConcurrentDictionary<nint, NativeSession> s_sessions = new();
    private static long s_nextHandle;

    /// <summary>The services for sessions whose cpu backend uses <paramref name="threads"/> workers (0: default).</summary>
    public static AccelServices Services(int threads)
    {
        lock (s_servicesGate)
        {
            if (!s_services.TryGetValue(threads, out var services))
            {
                Action<Hosting.AccelBuilder>? cpuThreads = threads > 0 ? a => a.AddCpu(o => o with { Threads = threads }) : null;
                services = AccelComposition.Create(configure: cpuThreads);
                s_services[threads] = services;
            }

            return services;
        }
    }

    /// <summary>
    /// Opens a session on a checkpoint: <paramref name="config"/> is a config.json path or its JSON
    /// text (starting with <c>{</c>); <paramref name="weights"/> a .safetensors file, a folder of shards or an index.
    /// </summary>
    public static NativeSession Open(string config, string weights, SessionSettings settings)
    {
        var moe = ReadConfig(config);
        if (!File.Exists(weights) && !Directory.Exists(weights))
        {
            throw new FileNotFoundException(
                $"The weights '{weights}' do not exist; pass a .safetensors file, a folder of shards or a model.safetensors.index.json.");
        }

        using var checkpoint = SafetensorsCheckpoint.Open(weights);
        return NativeSession.Create(Services(settings.Threads), moe, checkpoint, settings);
    }

    /// <summary>Opens a session on tensors given by Hugging Face name (copied, so the caller keeps its buffers).</summary>
    public static NativeSession Open(string config, IReadOnlyDictionary<string, Types.HostTensor> tensors, SessionSettings settings) =>
        NativeSession.Create(Services(settings.Threads), ReadConfig(config), new InMemoryTensorSource(tensors), settings);

    /// <summary>Reads config.json from a path, or parses it when the text itself is given.</summary>
    public static MoeConfig ReadConfig(string config)
    {
        if (config.TrimStart().StartsWith('{'))
        {
            return HfConfigReader.Parse(config, "config JSON text");
        }

        if (!File.Exists(config))
        {
            throw new FileNotFoundException(Directory.Exists(config)
                ? $"The config '{config}' is a folder; pass the path of its config.json."
                : $"The config '{config}' does not exist; pass the path of the model's config.json (or its JSON text).");
        }

        return HfConfigReader.ReadFile(config);
    }

    /// <summary>Every device of every shipped backend as JSON: the list <c>accel devices</c> prints.</summary>
    public static string DevicesJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, NativeJson.Options))
        {
            json.WriteStartArray();
            foreach (var d in Services(0).Registry.Devices)
            {
                json.WriteStartObject();
                json.WriteString("id", d.Id);
                json.WriteString("backend", d.Backend);
                json.WriteString("name", d.Name);
                json.WriteString("kind", d.Kind.ToString().ToLowerInvariant());
                json.WriteString("status", d.Status.ToString().ToLowerInvariant());
                json.WriteBoolean("usable", d.IsUsable);
                if (d.MemoryBytes is long bytes)
                {
                    json.WriteNumber("memory_bytes", bytes);
                }
                else
                {
                    json.WriteNull("memory_bytes");
                }

                json.WriteString("note", d.Note);
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Registers a session and returns its handle (never 0).</summary>
    public static nint Add(NativeSession session)
    {
        nint handle = (nint)Interlocked.Increment(ref s_nextHandle);
        s_sessions[handle] = session;
        return handle;
    }

    /// <summary>The live session behind <paramref name="handle"/>.</summary>
    public static NativeSession Get(nint handle) => handle == 0
        ? throw new NativeArgumentException("session is NULL; create one with accel_session_create.")
        : s_sessions.TryGetValue(handle, out var session)
            ? session
            : throw new NativeArgumentException($"session {handle} is not a live session (released already, or not made by accel_session_create).");

    /// <summary>Removes and disposes the session behind <paramref name="handle"/> (0 is a no-op).</summary>
    public static void Release(nint handle)
    {
        if (handle == 0)
        {
            return;
        }

        if (!s_sessions.TryRemove(handle, out var session))
        {
            throw new NativeArgumentException($"session {handle} is not a live session (released twice?).");
        }

        session.Dispose();
    }

    /// <summary>The number of live sessions.</summary>
    public static int SessionCount => s_sessions.Count;
}
