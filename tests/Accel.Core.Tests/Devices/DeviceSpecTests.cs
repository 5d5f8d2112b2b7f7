using Accel.Devices;
using Accel.Errors;
using NUnit.Framework;

namespace Accel.Core.Tests.Devices;

/// <summary>Device strings parse into records that round-trip; bad strings get messages that help.</summary>
[TestFixture]
public sealed class DeviceSpecTests
{
    private static IEnumerable<TestCaseData> Valid()
    {
        yield return new TestCaseData("reference", new DeviceSpec("reference"));
        yield return new TestCaseData("cpu", new DeviceSpec("cpu"));
        yield return new TestCaseData("ilgpu-cpu", new DeviceSpec("ilgpu-cpu"));
        yield return new TestCaseData("cuda", new DeviceSpec("cuda"));
        yield return new TestCaseData("cuda:0", new DeviceSpec("cuda", 0));
        yield return new TestCaseData("cuda:12", new DeviceSpec("cuda", 12));
        yield return new TestCaseData("opencl", new DeviceSpec("opencl"));
        yield return new TestCaseData("opencl:1", new DeviceSpec("opencl", 1));
        yield return new TestCaseData("auto", DeviceSpec.Auto);
        yield return new TestCaseData("ascend-910b", new DeviceSpec("ascend-910b"));
        yield return new TestCaseData("cambricon-mlu370-x8", new DeviceSpec("cambricon-mlu370-x8"));
        yield return new TestCaseData("cpu-host", new DeviceSpec("cpu-host"));
        yield return new TestCaseData("my-npu2:3", new DeviceSpec("my-npu2", 3));
        yield return new TestCaseData("cpu:0", new DeviceSpec("cpu", 0));
    }

    [TestCaseSource(nameof(Valid))]
    public void ParsesAndRoundTrips(string text, DeviceSpec expected)
    {
        var spec = DeviceSpec.Parse(text);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(spec, Is.EqualTo(expected));
            Assert.That(spec.ToString(), Is.EqualTo(text));
            Assert.That(DeviceSpec.Parse(spec.ToString()), Is.EqualTo(spec));
            Assert.That(DeviceSpec.TryParse(text, out var again, out var error), Is.True);
            Assert.That(again, Is.EqualTo(spec));
            Assert.That(error, Is.Null);
        }
    }

    [Test]
    public void FlagsAndMatching()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(DeviceSpec.Parse("auto").IsAuto, Is.True);
            Assert.That(DeviceSpec.Parse("ascend-910b").IsAuto, Is.False);
            Assert.That(DeviceSpec.Parse("cuda:3").Ordinal, Is.EqualTo(3));
            Assert.That(DeviceSpec.Parse("cuda").Ordinal, Is.Null);
            Assert.That(DeviceSpec.Parse("cuda").Matches("cuda:2"), Is.True, "a name without ordinal matches every ordinal");
            Assert.That(DeviceSpec.Parse("cuda:1").Matches("cuda:2"), Is.False);
            Assert.That(DeviceSpec.Parse("cuda:1").Matches("cuda:1"), Is.True);
            Assert.That(DeviceSpec.Parse("cuda").Matches("cuda-x:0"), Is.False, "names match whole");
            Assert.That(DeviceSpec.Parse("cpu").Matches("CPU"), Is.False, "an invalid id matches nothing");
        }
    }

    private static IEnumerable<TestCaseData> Invalid()
    {
        yield return new TestCaseData(null, new[] { "empty" }).SetName("Reject_Null");
        yield return new TestCaseData("", new[] { "empty" }).SetName("Reject_Empty");
        yield return new TestCaseData(" ", new[] { "whitespace" }).SetName("Reject_Blank");
        yield return new TestCaseData(" cuda", new[] { "whitespace", "(did you mean 'cuda'?)." })
            .SetName("Reject_LeadingSpace");
        yield return new TestCaseData("cuda :0", new[] { "whitespace", "(did you mean 'cuda:0'?)." })
            .SetName("Reject_InnerSpace");
        yield return new TestCaseData("CUDA:0", new[] { "upper-case", "(did you mean 'cuda:0'?)." })
            .SetName("Reject_UpperCase");
        yield return new TestCaseData("Ascend-910B", new[] { "upper-case", "(did you mean 'ascend-910b'?)." })
            .SetName("Reject_UpperCaseProfile");
        yield return new TestCaseData("cuda:-1", new[] { "negative ordinal '-1'" }).SetName("Reject_NegativeOrdinal");
        yield return new TestCaseData("opencl:x", new[] { "non-numeric ordinal 'x'" }).SetName("Reject_NonNumeric");
        yield return new TestCaseData("opencl:1.5", new[] { "non-numeric ordinal '1.5'" })
            .SetName("Reject_FractionalOrdinal");
        yield return new TestCaseData("cuda:+1", new[] { "non-numeric ordinal '+1'" }).SetName("Reject_PlusSign");
        yield return new TestCaseData("cuda:", new[] { "empty ordinal" }).SetName("Reject_EmptyOrdinal");
        yield return new TestCaseData("cuda:01", new[] { "leading zero", "write '1'" }).SetName("Reject_LeadingZero");
        yield return new TestCaseData("cuda:99999999999", new[] { "too large" }).SetName("Reject_HugeOrdinal");
        yield return new TestCaseData("cuda:0:1", new[] { "non-numeric ordinal '0:1'" }).SetName("Reject_TwoColons");
        yield return new TestCaseData("auto:0", new[] { "auto takes none" }).SetName("Reject_OrdinalOnAuto");
        yield return new TestCaseData("ascend_910b", new[] { "does not start with a valid device name" })
            .SetName("Reject_Underscore");
        yield return new TestCaseData("-cuda", new[] { "does not start with a valid device name" })
            .SetName("Reject_LeadingHyphen");
        yield return new TestCaseData(":0", new[] { "does not start with a valid device name" })
            .SetName("Reject_NoName");
    }

    [TestCaseSource(nameof(Invalid))]
    public void RejectsWithAMessageListingTheAcceptedForms(string? text, string[] expected)
    {
        var ok = DeviceSpec.TryParse(text, out var spec, out var error);
        TestContext.Out.WriteLine(error);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(ok, Is.False);
            Assert.That(spec, Is.Null);
            Assert.That(error, Does.Contain("Accepted forms: a device name as 'accel devices' lists it"));
            Assert.That(error, Does.Contain("ascend-910b"));
            foreach (var part in expected)
            {
                Assert.That(error, Does.Contain(part));
            }
        }

        var e = Assert.Throws<InvalidInputException>(() => DeviceSpec.Parse(text!))!;
        Assert.That(e.Message, Is.EqualTo(error));
    }

    [Test]
    public void TheConstructorRejectsInconsistentRecords()
    {
        Assert.That(() => new DeviceSpec("CUDA"), Throws.ArgumentException);
        Assert.That(() => new DeviceSpec("cuda", -1), Throws.InstanceOf<ArgumentException>());
        Assert.That(() => new DeviceSpec("auto", 0), Throws.ArgumentException);
        Assert.That(() => new DeviceSpec("a_b"), Throws.ArgumentException);
    }
}
