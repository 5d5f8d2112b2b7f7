using System.Text;
using Accel.Errors;
using Accel.IO;
using Accel.Types;
using NUnit.Framework;

namespace Accel.Core.Tests.IO;

[TestFixture]
public sealed class SafetensorsCorruptionTests : SafetensorsTestBase
{
    private const string A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}";

    private static string B(string dtype = "I8", string shape = "[4]", string offsets = "[16,20]") =>
        $"\"b\":{{\"dtype\":\"{dtype}\",\"shape\":{shape},\"data_offsets\":{offsets}}}";

    /// <summary>Header text (with a 24-byte data section) and a fragment the error message must hold.</summary>
    private static IEnumerable<TestCaseData> BadHeaders()
    {
        TestCaseData Case(string label, string header, params string[] expected) =>
            new TestCaseData(header, expected).SetArgDisplayNames(label);

        yield return Case("array", "[1,2]", "must be a JSON object");
        yield return Case("string", "\"hello\"", "must be a JSON object");
        yield return Case("unterminated", "{" + A + ",", "not valid JSON");
        yield return Case("cut in a string", "{\"a\":{\"dty", "not valid JSON");
        yield return Case("trailing comma", "{" + A + ",}", "not valid JSON");
        yield return Case("content after object", "{" + A + "} {}", "not valid JSON");
        yield return Case("entry not object", "{\"a\":1}", "'a'", "must be an object");
        yield return Case("missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", "'a'", "missing \"dtype\"");
        yield return Case("missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", "missing \"shape\"");
        yield return Case("missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", "missing \"data_offsets\"");
        yield return Case("dtype number", "{" + A + ",\"b\":{\"dtype\":5,\"shape\":[4],\"data_offsets\":[16,20]}}",
            "'b'", "\"dtype\"", "a number");
        yield return Case("shape string", "{" + B(shape: "\"4\"") + "}", "'b'", "\"shape\"", "a string");
        yield return Case("shape object", "{" + B(shape: "{}") + "}", "\"shape\"", "an object");
        yield return Case("dim string", "{" + B(shape: "[\"4\"]") + "}", "\"shape\"", "non-negative integers");
        yield return Case("negative dim", "{" + B(shape: "[-4]") + "}", "-4", "Negative");
        yield return Case("fractional dim", "{" + B(shape: "[2.5]") + "}", "2.5", "\"shape\"");
        yield return Case("huge dim", "{" + B(shape: "[99999999999999999999]") + "}", "99999999999999999999");
        yield return Case("product overflow", "{" + B(shape: "[4294967296,4294967296,4294967296,0]") + "}",
            "'b'", "overflows");
        yield return Case("too many dims", "{" + B(shape: "[" + string.Join(",", Enumerable.Repeat(1, 65)) + "]") + "}",
            "more than 64");
        yield return Case("offsets string", "{" + B(offsets: "\"16,20\"") + "}", "\"data_offsets\"", "a string");
        yield return Case("one offset", "{" + B(offsets: "[16]") + "}", "\"data_offsets\"", "[begin, end]");
        yield return Case("three offsets", "{" + B(offsets: "[16,20,24]") + "}", "more than 2");
        yield return Case("negative offset", "{" + B(offsets: "[-1,3]") + "}", "-1", "\"data_offsets\"");
        yield return Case("begin after end", "{" + B(offsets: "[20,16]") + "}", "[20, 16]", "0 <= begin <= end <= 24");
        yield return Case("end past data", "{" + B(offsets: "[20,24]") + "," + B(offsets: "[21,25]").Replace("\"b\"", "\"c\"") + "}",
            "'c'", "[21, 25]", "<= 24");
        yield return Case("offset past 2^63", "{" + B(offsets: "[18446744073709551615,18446744073709551615]") + "}",
            "18446744073709551615");
        yield return Case("size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}",
            "'a'", "16 bytes", "24 bytes", "[2, 3]");
        yield return Case("size mismatch by dtype", "{" + B(dtype: "I32") + "}", "4 bytes", "16 bytes");
        yield return Case("overlap", "{" + A + "," + B(offsets: "[12,16]") + "}", "'a'", "'b'", "overlap");
        yield return Case("overlap listed backwards", "{" + B(offsets: "[0,4]") + "," + A.Replace("[0,16]", "[2,18]") + "}",
            "overlap");
        yield return Case("same range", "{" + B(offsets: "[0,4]") + "," + B(offsets: "[0,4]").Replace("\"b\"", "\"c\"") + "}",
            "overlap");
        yield return Case("duplicate tensor key", "{" + A + "," + A + "}", "'a'", "duplicate key");
        yield return Case("duplicate field", "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
            "\"dtype\" twice");
        yield return Case("F64", "{" + B(dtype: "F64") + "}", "'b'", "'F64'", "F32, F16, BF16, F8_E4M3, F8_E8M0");
        yield return Case("BOOL", "{" + B(dtype: "BOOL") + "}", "'BOOL'", "Supported dtypes");
        yield return Case("F8_E5M2", "{" + B(dtype: "F8_E5M2") + "}", "'F8_E5M2'", "Supported dtypes");
        yield return Case("lower-case dtype", "{" + B(dtype: "f32") + "}", "'f32'", "Supported dtypes");
        yield return Case("metadata array", "{\"__metadata__\":[1]," + A + "}", "__metadata__", "an array");
        yield return Case("metadata null", "{\"__metadata__\":null}", "__metadata__", "null");
        yield return Case("metadata number value", "{\"__metadata__\":{\"k\":1}}", "'k'", "a number", "JSON string");
        yield return Case("metadata nested", "{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", "'k'", "an object");
        yield return Case("metadata duplicate key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", "'k'", "duplicate key");
        yield return Case("metadata twice", "{\"__metadata__\":{},\"__metadata__\":{}}", "duplicate key");
        yield return Case("lone surrogate", "{\"\\ud800\":{}}", "not valid text");
        yield return Case("deep nesting", "{\"a\":{\"x\":" + new string('[', 200) + new string(']', 200) + "}}",
            "not valid JSON");
    }

    [TestCaseSource(nameof(BadHeaders))]
    public void Malformed_headers_are_rejected_with_a_clear_message(string header, string[] expected)
    {
        string path = WriteFile("bad.safetensors", Raw(header, 24));
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.That(ex!.FilePath, Is.EqualTo(path));
        foreach (string fragment in expected)
        {
            Assert.That(ex.Message, Does.Contain(fragment));
        }
    }

    private static IEnumerable<TestCaseData> GoodHeaders()
    {
        yield return new TestCaseData("{}", 0).SetArgDisplayNames("empty object");
        yield return new TestCaseData("  {" + A + "}  \n ", 1).SetArgDisplayNames("whitespace around");
        yield return new TestCaseData("{" + A + "," + B(offsets: "[20,24]") + "}", 2).SetArgDisplayNames("gap between");
        yield return new TestCaseData("{" + A + "," + B(shape: "[0]", offsets: "[8,8]") + "}", 2)
            .SetArgDisplayNames("empty tensor inside another's range");
        yield return new TestCaseData("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16],\"extra\":{\"x\":[1]}}}", 1)
            .SetArgDisplayNames("unknown field");
        yield return new TestCaseData("{\"__metadata__\":{}," + A + "}", 1).SetArgDisplayNames("empty metadata");
    }

    [TestCaseSource(nameof(GoodHeaders))]
    public void Lenient_but_valid_headers_are_accepted(string header, int count)
    {
        string path = WriteFile("ok.safetensors", Raw(header, 24));
        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.That(file.Names, Has.Count.EqualTo(count));
    }

    private static byte[] RealFile() => SafetensorsWriter.Serialize(
        [Pair("w", Make(DType.F32, [4, 4])), Pair("b", Make(DType.F32, [4]))],
        new Dictionary<string, string> { ["format"] = "pt" });

    private static IEnumerable<TestCaseData> Truncations()
    {
        int total = RealFile().Length;
        int header = 8 + HeaderOf(RealFile()).Length;
        foreach (int at in new[] { 0, 1, 7, 8, 9, 20, header - 1, header, total - 17, total - 1 })
        {
            yield return new TestCaseData(at).SetArgDisplayNames($"{at} of {total} bytes");
        }
    }

    [TestCaseSource(nameof(Truncations))]
    public void Truncated_files_are_rejected(int keep)
    {
        string path = WriteFile("cut.safetensors", RealFile()[..keep]);
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.That(ex!.Message, Does.Contain("truncated"));
    }

    [TestCase(0UL, "header length is 0")]
    [TestCase(1UL << 60, "header length 1152921504606846976")]
    [TestCase(ulong.MaxValue, "header length 18446744073709551615")]
    [TestCase(7UL, "not valid JSON")]
    public void Bogus_header_lengths_are_rejected(ulong length, string expected)
    {
        string path = WriteFile("len.safetensors", WithHeaderLength(RealFile(), length));
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.That(ex!.Message, Does.Contain(expected));
    }

    [Test]
    public void Header_length_one_past_the_file_is_rejected()
    {
        byte[] file = RealFile();
        string path = WriteFile("len.safetensors", WithHeaderLength(file, (ulong)file.Length - 7));
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.That(ex!.Message, Does.Contain("larger than the " + (file.Length - 8) + " bytes"));
    }

    [Test]
    public void Header_over_the_size_limit_is_refused_before_reading_it()
    {
        var prefix = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, 100_000_001);
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsHeader.ReadHeaderLength("big", prefix, 1L << 40));
        Assert.That(ex!.Message, Does.Contain("100000000-byte limit"));
        ex = Assert.Throws<SafetensorsException>(() => SafetensorsHeader.ReadHeaderLength("big", prefix, 200_000_009));
        Assert.That(ex!.Message, Does.Contain("limit"));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, 100_000_000);
        Assert.That(SafetensorsHeader.ReadHeaderLength("ok", prefix, 100_000_008), Is.EqualTo(100_000_000));
    }

    [Test]
    public void Invalid_utf8_in_the_header_is_rejected()
    {
        byte[] header = Encoding.UTF8.GetBytes("{\"ab\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}");
        header[3] = 0xFF;
        string path = WriteFile("utf8.safetensors", Raw(header, 1));
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(path).Dispose());
        Assert.That(ex!.Message, Does.Contain("UTF-8"));
    }

    [Test]
    public void Missing_file_and_folder_paths_are_reported()
    {
        string missing = Path.Combine(Dir, "absent.safetensors");
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(missing));
        Assert.That(ex!.Message, Does.Contain("does not exist"));
        Assert.That(ex.Message, Does.Contain(missing));

        Assert.Throws<SafetensorsException>(() => SafetensorsFile.Open(Dir));
    }

    [Test]
    public void A_missing_tensor_is_named_with_the_closest_names()
    {
        string path = WriteTensors("m.safetensors",
            ("layers.0.mlp.gate.weight", Make(DType.F32, [1])), ("layers.0.mlp.up.weight", Make(DType.F32, [1])),
            ("layers.1.mlp.gate.weight", Make(DType.F32, [1])), ("embed.weight", Make(DType.F32, [1])),
            ("layers.0.attn.q.weight", Make(DType.F32, [1])), ("layers.0.attn.k.weight", Make(DType.F32, [1])),
            ("norm.weight", Make(DType.F32, [1])));
        using SafetensorsFile file = SafetensorsFile.Open(path);

        var ex = Assert.Throws<SafetensorsException>(() => file.Describe("layers.0.mlp.gate.weigth"));
        Assert.That(ex!.Message, Does.Contain("'layers.0.mlp.gate.weigth'"));
        Assert.That(ex.Message, Does.Contain("closest names are: 'layers.0.mlp.gate.weight', 'layers.1.mlp.gate.weight'"));
        string listed = ex.Message[ex.Message.IndexOf("closest names are:", StringComparison.Ordinal)..];
        Assert.That(listed.Split('\'').Length - 1, Is.EqualTo(2 * 5), "five suggestions");
        Assert.Throws<SafetensorsException>(() => file.Read("nope"));
        Assert.Throws<SafetensorsException>(() => file.GetBytes("nope"));
    }
}
