using System.Buffers.Binary;
using System.Text;
using Accel.Core.Tests.Moe;
using Accel.Core.Tests.Profiles;
using Accel.Errors;
using Accel.IO;
using Accel.Moe;
using Accel.Profiles;

namespace Accel.Core.Tests.Fuzzing;

/// <summary>
/// One pinned input per loader bug the fuzzer found, each now refused with an
/// <see cref="AccelException"/> whose message passes the fuzz oracle and says what was wrong.
/// Before the fixes these leaked an InvalidOperationException, carried kilobytes of the input in
/// the message, or loaded a figure that overflowed where it is used.
/// </summary>
public sealed class FuzzRegressionTests
{
    private const string Profile = ProfileTestData.ValidJson;
    private static readonly string LongJunk = new('x', 5000);

    /// <summary>Format, input text, the expected exception type and fragments of its message.</summary>
    private static IEnumerable<TestCaseData> Findings()
    {
        TestCaseData Case(string label, string format, string input, Type type, params string[] expected) =>
            new TestCaseData(format, input, type, expected).SetArgDisplayNames(label);

        // config.json: a lone surrogate escape in a value or a key (was InvalidOperationException).
        yield return Case("config value with a lone surrogate", "config", """{ "model_type": "\ud800" }""",
            typeof(ConfigException), "\"model_type\" holds an escape that is not valid text");
        yield return Case("config key with a lone surrogate", "config", """{ "\udc00x": 1, "model_type": "mixtral" }""",
            typeof(ConfigException), "a key holds an escape that is not valid text");
        yield return Case("config nested key with a lone surrogate", "config",
            ConfigParseTests.V3Json.Replace("\"fmt\"", "\"\\ud800fmt\"", StringComparison.Ordinal),
            typeof(ConfigException), "a key of \"quantization_config\" holds an escape");
        // config.json text holding a lone surrogate character, as from a cut emoji (was ArgumentException).
        yield return Case("config text with a cut surrogate pair", "config", "{ \"model_type\": \"\ud83d",
            typeof(ConfigException), "is not valid text", "save it as UTF-8");
        // config.json: a number finite as a double but infinite as a float (was an infinite SwiGLU clamp).
        yield return Case("config swiglu_limit past the float range", "config",
            ConfigParseTests.V4FlashJson.Replace("\"swiglu_limit\": 10.0", "\"swiglu_limit\": 1e300", StringComparison.Ordinal),
            typeof(ConfigException), "\"swiglu_limit\" must be a finite number within the 32-bit float range");
        // config.json: a syntax error quoting the rest of the file (was a message of kilobytes).
        yield return Case("config syntax error before a long value", "config", "{ \"model_type\": t" + LongJunk + " }",
            typeof(ConfigException), "is not valid JSON (line 1, byte", "...");

        // Profiles: a lone surrogate escape in a value or a field name (was InvalidOperationException).
        yield return Case("profile value with a lone surrogate", "profile",
            Profile.Replace("\"vendor\": \"Acme\"", "\"vendor\": \"\\udc00Acme\"", StringComparison.Ordinal),
            typeof(ProfileException), "$.identity.vendor", "the string holds an escape that is not valid text");
        yield return Case("profile field name with a lone surrogate", "profile",
            Profile.Replace("\"family\"", "\"\\ud800family\"", StringComparison.Ordinal),
            typeof(ProfileException), "$.identity", "a field name holds an escape that is not valid text");
        yield return Case("profile text with a cut surrogate pair", "profile",
            Profile.Replace("\"Acme\"", "\"Acme\ud83d\"", StringComparison.Ordinal),
            typeof(ProfileException), "is not valid text", "save the file as UTF-8");
        // Profiles: a rate below one base unit, which a roofline divides by (was an infinite prediction).
        yield return Case("profile peak of 1e-320 FLOP/s", "profile",
            Profile.Replace("\"value\": 10, \"unit\": \"TFLOP/s\"", "\"value\": 1e-320, \"unit\": \"TFLOP/s\"", StringComparison.Ordinal),
            typeof(ProfileException), "$.peaks.f32.value", "of at least 1 in base units");
        // Profiles: figures that overflow what consumers read them as (an int count, a long byte count,
        // an int alignment, a finite double).
        yield return Case("profile unit count past 32 bits", "profile",
            Profile.Replace("\"value\": 4, \"unit\": \"CU\"", "\"value\": 3000000000, \"unit\": \"CU\"", StringComparison.Ordinal),
            typeof(ProfileException), "$.compute.units.value", "no larger than 2147483647");
        yield return Case("profile device memory past 2^63 bytes", "profile",
            Profile.Replace("\"value\": 8, \"unit\": \"GiB\"", "\"value\": 1e10, \"unit\": \"GiB\"", StringComparison.Ordinal),
            typeof(ProfileException), "$.memory.deviceBytes.value", "overflows");
        yield return Case("profile bandwidth past the double range", "profile",
            Profile.Replace("\"value\": 100, \"unit\": \"GB/s\"", "\"value\": 1e300, \"unit\": \"TB/s\"", StringComparison.Ordinal),
            typeof(ProfileException), "$.memory.bandwidth.value", "overflows");
        yield return Case("profile alignment of 2 GiB", "profile",
            Profile.Replace("\"value\": 64, \"unit\": \"B\"", "\"value\": 2, \"unit\": \"GiB\"", StringComparison.Ordinal),
            typeof(ProfileException), "$.memory.alignmentBytes.value", "no larger than 1073741824");

        // Safetensors: a syntax error quoting the rest of the header (was a message of kilobytes).
        yield return Case("safetensors syntax error before a long value", "safetensors",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":t" + LongJunk + "}",
            typeof(SafetensorsException), "the header is not valid JSON", "...");
    }

    [TestCaseSource(nameof(Findings))]
    public void A_finding_of_the_fuzzer_is_refused_with_a_clear_error(string format, string input, Type type, string[] expected)
    {
        Exception? error = Load(format, input);
        Assert.That(error, Is.InstanceOf(type), error?.ToString());
        Assert.That(FuzzRun.MessageProblem(error!.Message), Is.Null, error.Message);
        foreach (string fragment in expected)
        {
            Assert.That(error.Message, Does.Contain(fragment));
        }
    }

    [Test]
    public void The_oracle_refuses_stack_traces_empty_and_huge_messages()
    {
        Assert.That(FuzzRun.MessageProblem(""), Does.Contain("empty"));
        Assert.That(FuzzRun.MessageProblem("bad\n   at Accel.IO.Foo()"), Does.Contain("stack trace"));
        Assert.That(FuzzRun.MessageProblem("System.InvalidOperationException: x"), Does.Contain(".NET type"));
        Assert.That(FuzzRun.MessageProblem(new string('x', FuzzRun.MaxMessageLength + 1)), Does.Contain("characters long"));
        Assert.That(FuzzRun.MessageProblem("'config.json': \"hidden_size\" must be positive but is 0."), Is.Null);
    }

    private static Exception? Load(string format, string input)
    {
        try
        {
            switch (format)
            {
                case "config":
                    HfConfigReader.Parse(input, "config.json");
                    break;
                case "profile":
                    HardwareProfileLoader.Parse(input, "test-device.json");
                    break;
                default:
                    string path = Path.Combine(Path.GetTempPath(), $"accel-fuzz-{Guid.NewGuid():N}.safetensors");
                    byte[] header = Encoding.UTF8.GetBytes(input);
                    var bytes = new byte[8 + header.Length + 4];
                    BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
                    header.CopyTo(bytes, 8);
                    File.WriteAllBytes(path, bytes);
                    try
                    {
                        SafetensorsFile.Open(path).Dispose();
                    }
                    finally
                    {
                        File.Delete(path);
                    }

                    break;
            }

            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
