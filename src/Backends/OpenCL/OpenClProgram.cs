using System.Text;
using Accel.Errors;
using Silk.NET.OpenCL;

namespace Accel.Backends.OpenCL;

/// <summary>
/// A built OpenCL program (<c>cl_program</c>) for one device, from OpenCL C source or from a
/// binary the driver produced earlier (<see cref="GetBinary"/>). Dispose it to release it;
/// kernels created from it keep the driver's reference alive.
/// </summary>
public sealed unsafe class OpenClProgram : IDisposable
{
    private readonly CL api;
    private nint handle;

    private OpenClProgram(CL api, nint handle, string buildLog)
    {
        this.api = api;
        this.handle = handle;
        BuildLog = buildLog;
    }

    /// <summary>What the device's compiler printed while building (often empty on success).</summary>
    public string BuildLog { get; }

    /// <summary>The cl_program handle.</summary>
    internal nint Handle => handle != 0 ? handle : throw new ObjectDisposedException(nameof(OpenClProgram));

    /// <summary>The names of the kernels in the program (<c>CL_PROGRAM_KERNEL_NAMES</c>).</summary>
    public IReadOnlyList<string> KernelNames
    {
        get
        {
            nuint size;
            ClStatus.Check(api.GetProgramInfo(Handle, ProgramInfo.KernelNames, 0, null, &size));
            var bytes = new byte[(int)size];
            fixed (byte* p = bytes)
            {
                ClStatus.Check(api.GetProgramInfo(Handle, ProgramInfo.KernelNames, size, p, null));
            }

            return ClInfo.Decode(bytes).Split(';', StringSplitOptions.RemoveEmptyEntries);
        }
    }

    /// <summary>The device binary (<c>CL_PROGRAM_BINARIES</c>), to rebuild later without the source.</summary>
    public byte[] GetBinary()
    {
        nuint size;
        ClStatus.Check(api.GetProgramInfo(Handle, ProgramInfo.BinarySizes, (nuint)sizeof(nuint), &size, null));
        var binary = new byte[(int)size];
        fixed (byte* p = binary)
        {
            byte* slot = p;
            ClStatus.Check(api.GetProgramInfo(Handle, ProgramInfo.Binaries, (nuint)sizeof(byte*), &slot, null));
        }

        return binary;
    }

    /// <summary>Releases the program.</summary>
    public void Dispose()
    {
        var h = Interlocked.Exchange(ref handle, 0);
        if (h != 0)
        {
            api.ReleaseProgram(h);
        }
    }

    /// <summary>
    /// Builds <paramref name="source"/> for the device. A compiler error raises
    /// <see cref="KernelCompilationException"/> with the device's build log and <paramref name="op"/>.
    /// </summary>
    internal static OpenClProgram FromSource(CL api, nint context, nint device, string source, string options, string op)
    {
        var bytes = Encoding.UTF8.GetBytes(source);
        int status;
        nint program;
        fixed (byte* p = bytes)
        {
            byte* text = p;
            nuint length = (nuint)bytes.Length;
            program = api.CreateProgramWithSource(context, 1, &text, &length, &status);
        }

        ClStatus.Check(status, "clCreateProgramWithSource");
        return Build(api, device, program, options, op, fromBinary: false);
    }

    /// <summary>
    /// Creates the program from a binary and builds it. Returns null (never throws for a bad
    /// binary) when the driver rejects the binary, so the caller can rebuild from source.
    /// </summary>
    internal static OpenClProgram? TryFromBinary(CL api, nint context, nint device, byte[] binary, string options)
    {
        int status, binaryStatus;
        nint program;
        fixed (byte* p = binary)
        {
            byte* data = p;
            nuint length = (nuint)binary.Length;
            nint dev = device;
            program = api.CreateProgramWithBinary(context, 1, &dev, &length, &data, &binaryStatus, &status);
        }

        if (status != ClStatus.Success || binaryStatus != ClStatus.Success)
        {
            if (program != 0)
            {
                api.ReleaseProgram(program);
            }

            return null;
        }

        try
        {
            return Build(api, device, program, options, "cached program", fromBinary: true);
        }
        catch (BackendException)
        {
            return null;
        }
    }

    private static OpenClProgram Build(CL api, nint device, nint program, string options, string op, bool fromBinary)
    {
        nint dev = device;
        int status;
        lock (OpenClLibrary.CallbackCalls)
        {
            status = api.BuildProgram(program, 1, &dev, options, null, null);
        }

        string log = ReadBuildLog(api, program, device);
        if (status == ClStatus.Success)
        {
            return new OpenClProgram(api, program, log);
        }

        api.ReleaseProgram(program);
        if (!fromBinary && status is -11 or -43 or -15)
        {
            string detail = string.IsNullOrWhiteSpace(log)
                ? $"clBuildProgram returned {ClStatus.NameOf(status)} with an empty build log (options: '{options}')."
                : log;
            throw new KernelCompilationException(ClStatus.Backend, op, detail);
        }

        throw ClStatus.Failure(status, $"clBuildProgram for {op} (options '{options}')");
    }

    private static string ReadBuildLog(CL api, nint program, nint device)
    {
        nuint size;
        if (api.GetProgramBuildInfo(program, device, ProgramBuildInfo.BuildLog, 0, null, &size) != ClStatus.Success)
        {
            return string.Empty;
        }

        var bytes = new byte[(int)size];
        fixed (byte* p = bytes)
        {
            if (api.GetProgramBuildInfo(program, device, ProgramBuildInfo.BuildLog, size, p, null) != ClStatus.Success)
            {
                return string.Empty;
            }
        }

        return ClInfo.Decode(bytes);
    }
}
