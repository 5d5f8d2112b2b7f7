using Accel.Errors;

namespace Accel.Native.Tests;

/// <summary>Every error type maps to its accel_status code, and internal errors ask for a report.</summary>
public sealed class ErrorMappingTests
{
    private static readonly object[] Cases =
    [
        new object[] { new ConfigException("c"), NativeStatus.Config },
        new object[] { new ProfileException("f", "$.x", "p"), NativeStatus.Config },
        new object[] { new AccelException("profile folder missing"), NativeStatus.Config },
        new object[] { new BackendUnavailableException("opencl", "absent"), NativeStatus.DeviceUnavailable },
        new object[] { new DeviceMemoryException("cpu", "full"), NativeStatus.DeviceMemory },
        new object[] { new GraphValidationException("node", "bad"), NativeStatus.Graph },
        new object[] { new KernelCompilationException("opencl", "Gemm", "log"), NativeStatus.Backend },
        new object[] { new BackendException("cpu", "failed"), NativeStatus.Backend },
        new object[] { new InvalidInputException("bad"), NativeStatus.InvalidArgument },
        new object[] { new SafetensorsException("a.safetensors", "truncated"), NativeStatus.InvalidArgument },
        new object[] { new NativeArgumentException("NULL"), NativeStatus.InvalidArgument },
        new object[] { new ArgumentNullException("x"), NativeStatus.InvalidArgument },
        new object[] { new ObjectDisposedException("session"), NativeStatus.InvalidArgument },
        new object[] { new FileNotFoundException("f"), NativeStatus.NotFound },
        new object[] { new DirectoryNotFoundException("d"), NativeStatus.NotFound },
        new object[] { new IOException("disk"), NativeStatus.Io },
        new object[] { new UnauthorizedAccessException("denied"), NativeStatus.Io },
        new object[] { new InvalidOperationException("bug"), NativeStatus.Internal },
        new object[] { new NullReferenceException(), NativeStatus.Internal },
    ];

    [TestCaseSource(nameof(Cases))]
    public void Each_error_type_has_its_status(Exception e, NativeStatus expected) =>
        Assert.That(NativeErrors.StatusOf(e), Is.EqualTo(expected));

    [Test]
    public void The_status_numbers_are_those_of_accel_h()
    {
        // accel.h: ACCEL_OK 0 .. ACCEL_ERR_INTERNAL 10, in this order.
        string[] names = ["Ok", "InvalidArgument", "Config", "NotFound", "DeviceUnavailable", "DeviceMemory", "Graph", "Backend",
            "Io", "Runtime", "Internal"];
        Assert.That(Enum.GetValues<NativeStatus>().Select(s => ((int)s, s.ToString())),
            Is.EqualTo(names.Select((n, i) => (i, n))));
    }

    [Test]
    public void Messages_are_the_errors_own_except_for_internal_errors()
    {
        Assert.That(NativeErrors.MessageOf(new ConfigException("Fix config.json.")), Is.EqualTo("Fix config.json."));
        Assert.That(NativeErrors.MessageOf(new ObjectDisposedException("x")), Does.Contain("released"));
        string internalMessage = NativeErrors.MessageOf(new InvalidOperationException("oops"));
        Assert.That(internalMessage, Does.StartWith("internal error: InvalidOperationException: oops")
            .And.Contain("ACCEL_DEBUG=1").And.Contain("report"));
    }
}
