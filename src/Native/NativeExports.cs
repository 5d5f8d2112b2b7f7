using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Accel.Types;

namespace Accel.Native;

/// <summary><c>accel_named_tensor</c>: a Hugging Face tensor name and the tensor.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct NativeNamedTensor
{
    /// <summary>UTF-8 name, e.g. <c>model.layers.3.mlp.gate.weight</c>.</summary>
    public byte* Name;

    /// <summary>The tensor.</summary>
    public NativeTensor Tensor;
}

/// <summary>
/// The table of managed entry points the native host (<c>native/accel_host.c</c>) receives from
/// <see cref="NativeExports.Bind"/>; the order and types are part of the contract with that file.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct NativeApi
{
    /// <summary>sizeof the table as the host compiled it.</summary>
    public nuint StructSize;

    /// <summary><c>accel_devices</c>.</summary>
    public delegate* unmanaged[Cdecl]<byte*, nuint, nuint*, int> Devices;

    /// <summary><c>accel_session_create</c>.</summary>
    public delegate* unmanaged[Cdecl]<byte*, byte*, NativeOptions*, nint*, int> SessionCreate;

    /// <summary><c>accel_session_create_from_tensors</c>.</summary>
    public delegate* unmanaged[Cdecl]<byte*, NativeNamedTensor*, nuint, NativeOptions*, nint*, int> SessionCreateFromTensors;

    /// <summary><c>accel_session_run</c>.</summary>
    public delegate* unmanaged[Cdecl]<nint, NativeTensor*, NativeTensor*, NativeTensor*, NativeTensor*, NativeTensor*, int> SessionRun;

    /// <summary><c>accel_session_run_routed</c>.</summary>
    public delegate* unmanaged[Cdecl]<nint, NativeTensor*, NativeTensor*, NativeTensor*, NativeTensor*, int> SessionRunRouted;

    /// <summary><c>accel_session_describe</c>.</summary>
    public delegate* unmanaged[Cdecl]<nint, byte*, nuint, nuint*, int> SessionDescribe;

    /// <summary><c>accel_session_release</c>.</summary>
    public delegate* unmanaged[Cdecl]<nint, int> SessionRelease;
}

/// <summary>
/// The <c>[UnmanagedCallersOnly]</c> exports behind <c>include/accel.h</c>. Each one catches every
/// exception, stores its message as the thread's last error (through the host's callback) and
/// returns an <c>accel_status</c>; no exception crosses the boundary.
/// </summary>
public static unsafe class NativeExports
{
    private static delegate* unmanaged[Cdecl]<byte*, void> s_setError;

    /// <summary>
    /// Called once by the native host: fills <paramref name="api"/> with the entry points and keeps
    /// <paramref name="setError"/>, which stores a UTF-8 message as the calling thread's last error.
    /// </summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    public static int Bind(NativeApi* api, nuint size, delegate* unmanaged[Cdecl]<byte*, void> setError)
    {
        if (api == null || size < (nuint)sizeof(NativeApi))
        {
            return (int)NativeStatus.Internal;
        }

        s_setError = setError;
        api->StructSize = (nuint)sizeof(NativeApi);
        api->Devices = &Devices;
        api->SessionCreate = &SessionCreate;
        api->SessionCreateFromTensors = &SessionCreateFromTensors;
        api->SessionRun = &SessionRun;
        api->SessionRunRouted = &SessionRunRouted;
        api->SessionDescribe = &SessionDescribe;
        api->SessionRelease = &SessionRelease;
        return (int)NativeStatus.Ok;
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Devices(byte* json, nuint capacity, nuint* length) =>
        Guard(() => WriteText(NativeRuntime.DevicesJson(), json, capacity, length, "accel_devices"));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SessionCreate(byte* config, byte* weights, NativeOptions* options, nint* session) => Guard(() =>
    {
        var created = NativeRuntime.Open(Text(config, "config"), Text(weights, "weights"), SessionSettings.From(options));
        Publish(created, session);
    }, session);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SessionCreateFromTensors(byte* config, NativeNamedTensor* tensors, nuint count, NativeOptions* options, nint* session) => Guard(() =>
    {
        var settings = SessionSettings.From(options);
        var created = NativeRuntime.Open(Text(config, "config"), ReadNamed(tensors, count), settings);
        Publish(created, session);
    }, session);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SessionRun(nint session, NativeTensor* hidden, NativeTensor* tokenIds, NativeTensor* output,
        NativeTensor* topkIds, NativeTensor* topkWeights) =>
        Guard(() => NativeRuntime.Get(session).Run(hidden, tokenIds, output, topkIds, topkWeights));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SessionRunRouted(nint session, NativeTensor* hidden, NativeTensor* topkIds, NativeTensor* topkWeights, NativeTensor* output) =>
        Guard(() => NativeRuntime.Get(session).RunRouted(hidden, topkIds, topkWeights, output));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SessionDescribe(nint session, byte* json, nuint capacity, nuint* length) =>
        Guard(() => WriteText(NativeRuntime.Get(session).Describe(), json, capacity, length, "accel_session_describe"));

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int SessionRelease(nint session) => Guard(() => NativeRuntime.Release(session));

    /// <summary>Runs <paramref name="body"/>; a failure becomes a status and the thread's last error (and *<paramref name="handle"/> = NULL).</summary>
    private static int Guard(Action body, nint* handle = null)
    {
        try
        {
            if (handle != null)
            {
                *handle = 0;
            }

            body();
            return (int)NativeStatus.Ok;
        }
        catch (Exception e)
        {
            SetError(NativeErrors.MessageOf(e));
            return (int)NativeErrors.StatusOf(e);
        }
    }

    private static void SetError(string message)
    {
        if (s_setError == null)
        {
            return;
        }

        byte[] utf8 = Encoding.UTF8.GetBytes(message + "\0");
        fixed (byte* p = utf8)
        {
            s_setError(p);
        }
    }

    /// <summary>Stores the new session's handle, or releases the session when there is nowhere to store it.</summary>
    private static void Publish(NativeSession created, nint* session)
    {
        if (session == null)
        {
            created.Dispose();
            throw new NativeArgumentException("session is NULL; pass the address of an accel_session * to receive the new session.");
        }

        *session = NativeRuntime.Add(created);
    }

    /// <summary>A required UTF-8 string argument.</summary>
    private static string Text(byte* utf8, string name)
    {
        string? text = utf8 == null ? null : Marshal.PtrToStringUTF8((nint)utf8);
        return string.IsNullOrWhiteSpace(text)
            ? throw new NativeArgumentException($"{name} is {(utf8 == null ? "NULL" : "empty")}; pass a path (UTF-8, NUL-terminated).")
            : text;
    }

    private static Dictionary<string, HostTensor> ReadNamed(NativeNamedTensor* tensors, nuint count)
    {
        if (tensors == null && count > 0)
        {
            throw new NativeArgumentException($"tensors is NULL but count is {count}; pass an array of accel_named_tensor.");
        }

        var result = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        for (nuint i = 0; i < count; i++)
        {
            string name = tensors[i].Name == null
                ? throw new NativeArgumentException($"tensors[{i}].name is NULL; every tensor needs its Hugging Face name.")
                : Marshal.PtrToStringUTF8((nint)tensors[i].Name)!;
            if (!result.TryAdd(name, NativeTensors.Read(&tensors[i].Tensor, $"tensors[{i}] ('{name}')")))
            {
                throw new NativeArgumentException($"tensors[{i}]: the name '{name}' appears twice; give each tensor once.");
            }
        }

        return result;
    }

    /// <summary>Copies <paramref name="text"/> as NUL-terminated UTF-8 into the caller's buffer; a NULL buffer asks for the length only.</summary>
    private static void WriteText(string text, byte* buffer, nuint capacity, nuint* length, string function)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        if (length != null)
        {
            *length = (nuint)utf8.Length;
        }

        if (buffer == null)
        {
            if (length == null)
            {
                throw new NativeArgumentException($"{function}: buffer and length are both NULL; pass length to learn the size, then a buffer of length + 1 bytes.");
            }

            return;
        }

        if (capacity < (nuint)utf8.Length + 1)
        {
            throw new NativeArgumentException(
                $"{function}: the buffer holds {capacity} bytes but the text needs {utf8.Length + 1} (with its NUL); pass a larger buffer.");
        }

        utf8.CopyTo(new Span<byte>(buffer, utf8.Length));
        buffer[utf8.Length] = 0;
    }
}
