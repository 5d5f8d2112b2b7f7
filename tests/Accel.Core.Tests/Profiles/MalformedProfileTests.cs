using System.Text.Json.Nodes;
using Accel.Errors;
using Accel.Profiles;
using NUnit.Framework;

namespace Accel.Core.Tests.Profiles;

/// <summary>
/// Each malformed profile is rejected with a <see cref="ProfileException"/> whose message names the
/// file, the JSON path and what was expected.
/// </summary>
[TestFixture]
public sealed class MalformedProfileTests
{
    private static JsonNode? Json(string text) => JsonNode.Parse(text);

    private static TestCaseData Case(string name, Action<JsonObject> edit, string path, params string[] expected) =>
        new TestCaseData(ProfileTestData.Mutate(edit), path, expected).SetName(name);

    private static IEnumerable<TestCaseData> Cases()
    {
        // Bad JSON: the message gives line and position.
        yield return new TestCaseData("{\n  \"id\": \"x\",\n  \"shim\": \n}", "$",
            new[] { "not valid JSON", "line 4, position 1" }).SetName("BadJson_MissingValue");
        yield return new TestCaseData("", "$", new[] { "the file is empty" }).SetName("BadJson_Empty");
        yield return new TestCaseData("{ \"id\": \"x\", }", "$",
                new[] { "not valid JSON", "line 1, position 14", "trailing comma" })
            .SetName("BadJson_TrailingComma");
        yield return new TestCaseData("[1, 2]", "$", new[] { "expected an object", "found an array" })
            .SetName("WrongType_RootIsArray");

        // Unknown fields.
        yield return Case("UnknownField_TopLevel", r => r["colour"] = "red", "$.colour",
            "unknown field 'colour'", "expected one of:", "memory");
        yield return Case("UnknownField_InFigure", r => r.At("memory.deviceBytes")["units"] = "GiB",
            "$.memory.deviceBytes.units", "unknown field 'units'", "value, unit, source");
        yield return Case("UnknownField_Misspelt", r =>
            {
                var memory = r.At("memory");
                var bytes = memory["deviceBytes"]!;
                memory.Remove("deviceBytes");
                memory["deviceByte"] = bytes;
            }, "$.memory.deviceByte", "unknown field 'deviceByte'", "deviceBytes");

        // Missing required fields.
        yield return Case("Missing_Id", r => r.Remove("id"), "$.id", "missing required field 'id'");
        yield return Case("Missing_DeviceBytes", r => r.At("memory").Remove("deviceBytes"),
            "$.memory.deviceBytes", "missing required field 'deviceBytes'", "in bytes");
        yield return Case("Missing_FigureSource", r => r.At("compute.units").Remove("source"),
            "$.compute.units.source", "missing required field 'source'", "unknown: <why>");
        yield return Case("Missing_EmulationGeometry", r => r.At("kernels.cpuEmulation").Remove("multiprocessors"),
            "$.kernels.cpuEmulation.multiprocessors", "missing required field 'multiprocessors'");

        // Wrong JSON types.
        yield return Case("WrongType_ValueIsString", r => r.At("compute.units")["value"] = "many",
            "$.compute.units.value", "expected a number or null", "found a string (\"many\")");
        yield return Case("WrongType_TargetsIsString", r => r["targets"] = "cuda",
            "$.targets", "expected an array", "found a string");
        yield return Case("WrongType_IdentityIsNumber", r => r["identity"] = 3,
            "$.identity", "expected an object", "found a number (3)");
        yield return Case("WrongType_TileIsFraction", r => r.At("kernels.gemmTile")["m"] = 1.5,
            "$.kernels.gemmTile.m", "expected a positive whole number", "found a number (1.5)");

        // Sizes and other figures must be positive.
        yield return Case("NegativeSize_DeviceBytes", r => r.At("memory.deviceBytes")["value"] = -1,
            "$.memory.deviceBytes.value", "expected a positive size", "found -1");
        yield return Case("ZeroSize_OnChip", r => r.At("memory.onChip.l1")["value"] = 0,
            "$.memory.onChip.l1.value", "expected a positive size", "found 0");
        yield return Case("ZeroBandwidth", r => r.At("memory.bandwidth")["value"] = 0,
            "$.memory.bandwidth.value", "expected a positive bandwidth");
        yield return Case("NegativePeak", r => r.At("peaks.f32")["value"] = -5,
            "$.peaks.f32.value", "expected a positive throughput");
        yield return Case("ZeroTile", r => r.At("kernels.gemmTile")["k"] = 0,
            "$.kernels.gemmTile.k", "greater than zero", "found 0");
        yield return Case("FractionalCount", r => r.At("compute.units")["value"] = 2.5,
            "$.compute.units.value", "expected a whole number");
        yield return Case("FractionalBytes", r => r.At("memory.deviceBytes").ReplaceWith(
                Json("""{ "value": 1.5, "unit": "B", "source": "test" }""")),
            "$.memory.deviceBytes.value", "whole number of bytes");
        yield return Case("AlignmentNotPowerOfTwo", r => r.At("memory.alignmentBytes")["value"] = 48,
            "$.memory.alignmentBytes.value", "power-of-two number of bytes", "found 48 B");

        // Enumerations.
        yield return Case("UnknownShim", r => r["shim"] = "huawei",
            "$.shim", "unknown shim 'huawei'", "none, ascend, cambricon, hygon");
        yield return Case("UnknownDType_Supported", r => r.At("dtypes")["supported"] = new JsonArray("f32", "f99"),
            "$.dtypes.supported[1]", "unknown dtype 'f99'", "f32, f16, bf16");
        yield return Case("UnknownDType_Alias", r => r.At("dtypes")["supported"] = new JsonArray("f32", "fp8"),
            "$.dtypes.supported[1]", "unknown dtype 'fp8'", "Write 'f8e4m3'");
        yield return Case("UnknownDType_PeakKey", r => r.At("peaks")["float32"] =
                Json("""{ "value": 1, "unit": "TFLOP/s", "source": "test" }"""),
            "$.peaks.float32", "unknown dtype 'float32'", "Write 'f32'");
        yield return Case("UnknownDType_LegalizeTarget", r => r.At("dtypes.legalize")["bf16"] = "half",
            "$.dtypes.legalize.bf16", "unknown dtype 'half'", "expected one of:");
        yield return Case("UnknownTarget", r => r["targets"] = new JsonArray("rocm", "reference"),
            "$.targets[0]", "unknown target 'rocm'", "cuda, opencl, ilgpu-cpu, cpu, reference");
        yield return Case("EmptyTargets", r => r["targets"] = new JsonArray(),
            "$.targets", "expected a non-empty array", "found an empty array");
        yield return Case("DuplicateTarget", r => r["targets"] = new JsonArray("opencl", "opencl"),
            "$.targets[1]", "listed twice");
        yield return Case("UnknownUnit", r => r.At("memory.bandwidth")["unit"] = "GB/min",
            "$.memory.bandwidth.unit", "unknown unit 'GB/min'", "GB/s");
        yield return Case("UnknownApi", r => r["match"] = new JsonArray(Json("""{ "api": "rocm" }""")),
            "$.match[0].api", "unknown api 'rocm'", "cuda, opencl, hip, acl, cnrt, host");

        // Ids.
        yield return Case("BadId_UpperAndUnderscore", r => r["id"] = "Ascend_910B",
            "$.id", "lower-case letters, digits and '-'", "'ascend-910b'", "found 'Ascend_910B'");
        yield return Case("BadId_Space", r => r["id"] = "my device",
            "$.id", "lower-case letters, digits and '-'", "found 'my device'");
        yield return Case("BadId_LeadingHyphen", r => r["id"] = "-x", "$.id", "found '-x'");
        yield return Case("BadId_Auto", r => r["id"] = "auto", "$.id", "an id other than 'auto'", "Rename it");

        // Sources and cross-field rules.
        yield return Case("NullWithoutUnknownSource", r => r.At("memory.bandwidth")["value"] = null,
            "$.memory.bandwidth.source", "starting with \"unknown:\"");
        yield return Case("KnownWithUnknownSource", r => r.At("memory.bandwidth")["source"] = "unknown: guess",
            "$.memory.bandwidth.source", "the value is known");
        yield return Case("PeakForUnsupportedDType", r => r.At("peaks")["bf16"] =
                Json("""{ "value": 1, "unit": "TFLOP/s", "source": "test" }"""),
            "$.peaks.bf16", "not in $.dtypes.supported");
        yield return Case("LegalizeToUnsupported", r => r.At("dtypes.legalize")["bf16"] = "i64",
            "$.dtypes.legalize.bf16", "listed in $.dtypes.supported or \"fallback\"", "found 'i64'");
        yield return Case("LegalizeSupportedDType", r => r.At("dtypes.legalize")["f16"] = "f32",
            "$.dtypes.legalize.f16", "needs no legalisation rule");
        yield return Case("DuplicateDType", r => r.At("dtypes")["supported"] = new JsonArray("f32", "f32"),
            "$.dtypes.supported[1]", "listed twice");
        yield return Case("WarpNotPowerOfTwo", r => r.At("kernels.cpuEmulation")["threadsPerWarp"] = 12,
            "$.kernels.cpuEmulation.threadsPerWarp", "power of two", "found 12");
        yield return Case("EmulatedGroupTooLarge", r => r.At("kernels.cpuEmulation")["warpsPerMultiprocessor"] = 64,
            "$.kernels.cpuEmulation", "at most 1024", "found 2048");
        yield return Case("ReductionLargerThanGroup", r => r.At("kernels")["rowReductionGroupSize"] = 256,
            "$.kernels.rowReductionGroupSize", "no larger than the emulated group size 128", "found 256");
        yield return Case("EmptyString", r => r.At("identity")["vendor"] = " ",
            "$.identity.vendor", "found an empty string");
    }

    [TestCaseSource(nameof(Cases))]
    public void MalformedProfileIsRejectedWithFilePathAndExpectation(string json, string path, string[] expected)
    {
        using var folder = new TempFolder();
        var file = folder.Write("broken.json", json);

        var e = Assert.Throws<ProfileException>(() => HardwareProfileLoader.LoadFile(file))!;
        TestContext.Out.WriteLine(e.Message);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(e.File, Is.EqualTo(file));
            Assert.That(e.JsonPath, Is.EqualTo(path));
            Assert.That(e.Message, Does.Contain(file));
            Assert.That(e.Message, Does.Contain($" at {path}: "));
            foreach (var text in expected)
            {
                Assert.That(e.Message, Does.Contain(text));
            }
        }
    }

    [Test]
    public void DuplicateFieldIsRejected()
    {
        var json = ProfileTestData.ValidJson.Replace("\"shim\": \"none\",", "\"shim\": \"none\", \"shim\": \"ascend\",",
            StringComparison.Ordinal);

        var e = Assert.Throws<ProfileException>(() => HardwareProfileLoader.Parse(json, "dup.json"))!;

        Assert.That(e.JsonPath, Is.EqualTo("$.shim"));
        Assert.That(e.Message, Does.Contain("duplicate field 'shim'").And.Contain("dup.json"));
    }

    [Test]
    public void UnreadableFileIsAProfileError()
    {
        using var folder = new TempFolder();
        var missing = Path.Combine(folder.Path, "missing.json");

        var e = Assert.Throws<ProfileException>(() => HardwareProfileLoader.LoadFile(missing))!;

        Assert.That(e.Message, Does.Contain("missing.json").And.Contain("cannot be read"));
    }

    [Test]
    public void TheValidBaseProfileParses()
    {
        Assert.That(() => ProfileTestData.Valid(), Throws.Nothing);
    }
}
