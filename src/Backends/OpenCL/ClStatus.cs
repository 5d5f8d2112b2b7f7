using System.Runtime.CompilerServices;
using Accel.Errors;

namespace Accel.Backends.OpenCL;

/// <summary>
/// OpenCL status codes in words, and the one helper every OpenCL call in this backend goes
/// through, so that a failure names the call and the status.
/// </summary>
public static class ClStatus
{
    /// <summary>The backend id used in every exception this backend raises.</summary>
    public const string Backend = "opencl";

    /// <summary>The value OpenCL returns on success (<c>CL_SUCCESS</c>).</summary>
    public const int Success = 0;

    private static readonly Dictionary<int, string> Names = new()
    {
        [0] = "CL_SUCCESS",
        [-1] = "CL_DEVICE_NOT_FOUND",
        [-2] = "CL_DEVICE_NOT_AVAILABLE",
        [-3] = "CL_COMPILER_NOT_AVAILABLE",
        [-4] = "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        [-5] = "CL_OUT_OF_RESOURCES",
        [-6] = "CL_OUT_OF_HOST_MEMORY",
        [-7] = "CL_PROFILING_INFO_NOT_AVAILABLE",
        [-8] = "CL_MEM_COPY_OVERLAP",
        [-9] = "CL_IMAGE_FORMAT_MISMATCH",
        [-10] = "CL_IMAGE_FORMAT_NOT_SUPPORTED",
        [-11] = "CL_BUILD_PROGRAM_FAILURE",
        [-12] = "CL_MAP_FAILURE",
        [-13] = "CL_MISALIGNED_SUB_BUFFER_OFFSET",
        [-14] = "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST",
        [-15] = "CL_COMPILE_PROGRAM_FAILURE",
        [-16] = "CL_LINKER_NOT_AVAILABLE",
        [-17] = "CL_LINK_PROGRAM_FAILURE",
        [-18] = "CL_DEVICE_PARTITION_FAILED",
        [-19] = "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
        [-30] = "CL_INVALID_VALUE",
        [-31] = "CL_INVALID_DEVICE_TYPE",
        [-32] = "CL_INVALID_PLATFORM",
        [-33] = "CL_INVALID_DEVICE",
        [-34] = "CL_INVALID_CONTEXT",
        [-35] = "CL_INVALID_QUEUE_PROPERTIES",
        [-36] = "CL_INVALID_COMMAND_QUEUE",
        [-37] = "CL_INVALID_HOST_PTR",
        [-38] = "CL_INVALID_MEM_OBJECT",
        [-39] = "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR",
        [-40] = "CL_INVALID_IMAGE_SIZE",
        [-41] = "CL_INVALID_SAMPLER",
        [-42] = "CL_INVALID_BINARY",
        [-43] = "CL_INVALID_BUILD_OPTIONS",
        [-44] = "CL_INVALID_PROGRAM",
        [-45] = "CL_INVALID_PROGRAM_EXECUTABLE",
        [-46] = "CL_INVALID_KERNEL_NAME",
        [-47] = "CL_INVALID_KERNEL_DEFINITION",
        [-48] = "CL_INVALID_KERNEL",
        [-49] = "CL_INVALID_ARG_INDEX",
        [-50] = "CL_INVALID_ARG_VALUE",
        [-51] = "CL_INVALID_ARG_SIZE",
        [-52] = "CL_INVALID_KERNEL_ARGS",
        [-53] = "CL_INVALID_WORK_DIMENSION",
        [-54] = "CL_INVALID_WORK_GROUP_SIZE",
        [-55] = "CL_INVALID_WORK_ITEM_SIZE",
        [-56] = "CL_INVALID_GLOBAL_OFFSET",
        [-57] = "CL_INVALID_EVENT_WAIT_LIST",
        [-58] = "CL_INVALID_EVENT",
        [-59] = "CL_INVALID_OPERATION",
        [-60] = "CL_INVALID_GL_OBJECT",
        [-61] = "CL_INVALID_BUFFER_SIZE",
        [-62] = "CL_INVALID_MIP_LEVEL",
        [-63] = "CL_INVALID_GLOBAL_WORK_SIZE",
        [-64] = "CL_INVALID_PROPERTY",
        [-65] = "CL_INVALID_IMAGE_DESCRIPTOR",
        [-66] = "CL_INVALID_COMPILER_OPTIONS",
        [-67] = "CL_INVALID_LINKER_OPTIONS",
        [-68] = "CL_INVALID_DEVICE_PARTITION_COUNT",
        [-69] = "CL_INVALID_PIPE_SIZE",
        [-70] = "CL_INVALID_DEVICE_QUEUE",
        [-71] = "CL_INVALID_SPEC_ID",
        [-72] = "CL_MAX_SIZE_RESTRICTION_EXCEEDED",
        [-1001] = "CL_PLATFORM_NOT_FOUND_KHR",
    };

    /// <summary>
    /// The name of an OpenCL status code with its number, e.g. <c>CL_INVALID_VALUE (-30)</c>;
    /// unknown (vendor) codes read <c>unknown OpenCL status (-9999)</c>.
    /// </summary>
    public static string NameOf(int status) =>
        Names.TryGetValue(status, out var name) ? $"{name} ({status})" : $"unknown OpenCL status ({status})";

    /// <summary>
    /// Throws when <paramref name="status"/> is not <c>CL_SUCCESS</c>. The message names the
    /// failing call (captured from the call site) and the status in words. Allocation failures
    /// raise <see cref="DeviceMemoryException"/>, everything else <see cref="BackendException"/>.
    /// </summary>
    /// <param name="status">The value the OpenCL call returned (or wrote to its error slot).</param>
    /// <param name="call">The call expression; filled in by the compiler.</param>
    public static void Check(int status, [CallerArgumentExpression(nameof(status))] string call = "")
    {
        if (status != Success)
        {
            throw Failure(status, call);
        }
    }

    /// <summary>Builds (without throwing) the exception <see cref="Check"/> would raise.</summary>
    /// <param name="status">The failing status.</param>
    /// <param name="call">The failing call, in words or as code.</param>
    public static BackendException Failure(int status, string call)
    {
        var what = $"The OpenCL call {Shorten(call)} failed with {NameOf(status)}.";
        return status switch
        {
            -4 or -5 or -6 or -61 => new DeviceMemoryException(Backend,
                $"{what} The device or host ran out of memory; free buffers, use smaller tensors or another device."),
            _ => new BackendException(Backend,
                $"{what} Check the OpenCL driver (ICD) installation and the arguments of this call."),
        };
    }

    /// <summary>Keeps messages short when the captured expression spans many lines.</summary>
    private static string Shorten(string call)
    {
        var flat = string.Join(' ', call.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(part => part.Trim()));
        return flat.Length <= 160 ? $"'{flat}'" : $"'{flat[..157]}...'";
    }
}
