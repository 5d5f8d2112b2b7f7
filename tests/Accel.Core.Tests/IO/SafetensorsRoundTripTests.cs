using System.Buffers.Binary;
using System.Text;
using Accel.Errors;
using Accel.IO;
using Accel.Types;
using NUnit.Framework;

namespace Accel.Core.Tests.IO;

[TestFixture]
public sealed class SafetensorsRoundTripTests : SafetensorsTestBase
{
    private static readonly long[][] Shapes = [[2, 3], [5], [], [0], [3, 0, 2], [1, 1, 7]];

    private static IEnumerable<TestCaseData> DTypeAndShape() =>
        from t in Supported
        from s in Shapes
        select new TestCaseData(t, s).SetArgDisplayNames(t.ToString(), "[" + string.Join(",", s) + "]");

    [TestCaseSource(nameof(DTypeAndShape))]
    public void Every_supported_dtype_and_shape_round_trips(DType type, long[] dims)
    {
        HostTensor original = Make(type, dims, seed: (int)type);
        string path = WriteTensors("one.safetensors", ("t", original), ("after", Make(DType.U8, [3])));

        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.That(file.Describe("t"), Is.EqualTo(new TensorDesc("t", type, new Shape(dims))));
        HostTensor read = file.Read("t");
        Assert.That(read.Type, Is.EqualTo(type));
        Assert.That(read.Shape, Is.EqualTo(original.Shape));
        Assert.That(read.ReadOnlyBytes.ToArray(), Is.EqualTo(original.ReadOnlyBytes.ToArray()));
        Assert.That(file.GetBytes("t").ToArray(), Is.EqualTo(original.ReadOnlyBytes.ToArray()));
        Assert.That(file.Read("after").ReadOnlyBytes.ToArray(), Is.EqualTo(Make(DType.U8, [3]).ReadOnlyBytes.ToArray()));
    }

    [Test]
    public void Dtype_names_in_the_header_follow_the_format()
    {
        var tensors = Supported.Select(t => Pair(t.ToString(), Make(t, [1])));
        string header = HeaderOf(SafetensorsWriter.Serialize(tensors));
        foreach (string name in new[] { "F32", "F16", "BF16", "F8_E4M3", "F8_E8M0", "I8", "U8", "I32", "I64" })
        {
            Assert.That(header, Does.Contain($"\"dtype\":\"{name}\""));
        }
    }

    [Test]
    public void Metadata_round_trips_and_is_empty_when_absent()
    {
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcödé \"quoted\" + <tag>" };
        string with = WriteFile("m.safetensors", SafetensorsWriter.Serialize([Pair("x", Make(DType.F32, [2]))], metadata));
        string without = WriteFile("n.safetensors", SafetensorsWriter.Serialize([Pair("x", Make(DType.F32, [2]))]));

        using SafetensorsFile a = SafetensorsFile.Open(with);
        using SafetensorsFile b = SafetensorsFile.Open(without);
        Assert.That(a.Metadata, Is.EquivalentTo(metadata));
        Assert.That(a.Names, Is.EqualTo(new[] { "x" }));
        Assert.That(b.Metadata, Is.Empty);
    }

    [Test]
    public void Header_is_space_padded_to_a_multiple_of_8_and_tensors_follow_in_order()
    {
        byte[] bytes = SafetensorsWriter.Serialize(
            [Pair("z", Make(DType.I32, [3], 1)), Pair("a", Make(DType.U8, [5], 2)), Pair("m", Make(DType.BF16, [2], 3))]);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.That(n % 8, Is.Zero);
        string header = Encoding.UTF8.GetString(bytes, 8, n);
        Assert.That(header.TrimEnd(' '), Does.EndWith("}"));
        Assert.That(header.TrimEnd(' ').Length, Is.GreaterThan(n - 8));
        Assert.That(header, Does.Contain("\"z\":{\"dtype\":\"I32\",\"shape\":[3],\"data_offsets\":[0,12]}"));
        Assert.That(header, Does.Contain("\"a\":{\"dtype\":\"U8\",\"shape\":[5],\"data_offsets\":[12,17]}"));
        Assert.That(header, Does.Contain("\"m\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[17,21]}"));
        Assert.That(bytes.Length, Is.EqualTo(8 + n + 21));
        Assert.That(bytes.AsSpan(8 + n, 12).ToArray(), Is.EqualTo(Make(DType.I32, [3], 1).ReadOnlyBytes.ToArray()));
    }

    [Test]
    public void Write_produces_the_same_bytes_as_Serialize_and_leaves_no_temporary_file()
    {
        var tensors = new[] { Pair("w", Make(DType.F16, [4, 2])), Pair("b", Make(DType.F32, [4])) };
        var metadata = new Dictionary<string, string> { ["k"] = "v" };
        string path = Path.Combine(Dir, "w.safetensors");
        File.WriteAllText(path, "old content is replaced");

        SafetensorsWriter.Write(path, tensors, metadata);

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(SafetensorsWriter.Serialize(tensors, metadata)));
        Assert.That(Directory.GetFiles(Dir), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void Names_are_sorted_ordinally_and_lookups_agree()
    {
        string path = WriteTensors("s.safetensors",
            ("b.weight", Make(DType.F32, [1])), ("B.weight", Make(DType.F32, [1])), ("a.bias", Make(DType.F32, [1])));
        using SafetensorsFile file = SafetensorsFile.Open(path);

        Assert.That(file.Names, Is.EqualTo(new[] { "B.weight", "a.bias", "b.weight" }));
        Assert.That(file.Path, Is.EqualTo(path));
        Assert.That(file.Contains("a.bias"), Is.True);
        Assert.That(file.Contains("A.bias"), Is.False);
        Assert.That(file.TryDescribe("b.weight", out TensorDesc? desc), Is.True);
        Assert.That(desc!.Shape, Is.EqualTo(new Shape(1)));
        Assert.That(file.TryDescribe("nope", out TensorDesc? none), Is.False);
        Assert.That(none, Is.Null);
    }

    [Test]
    public void Unusual_names_round_trip()
    {
        string[] names = ["ünïcode.wéight", "with \"quotes\" and \\ slash", "plus+less<amp&", "", "tab\tnewline\n"];
        string path = WriteFile("u.safetensors",
            SafetensorsWriter.Serialize(names.Select((n, i) => Pair(n, Make(DType.I8, [i + 1])))));
        using SafetensorsFile file = SafetensorsFile.Open(path);

        Assert.That(file.Names, Is.EquivalentTo(names));
        for (int i = 0; i < names.Length; i++)
        {
            Assert.That(file.Describe(names[i]).Shape, Is.EqualTo(new Shape(i + 1)));
        }
    }

    [Test]
    public void An_empty_file_of_tensors_round_trips()
    {
        string path = WriteFile("e.safetensors", SafetensorsWriter.Serialize([]));
        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.That(file.Names, Is.Empty);
        Assert.That(file.Metadata, Is.Empty);
    }

    [Test]
    public void Views_are_refused_after_dispose()
    {
        string path = WriteTensors("d.safetensors", ("x", Make(DType.F32, [2])));
        SafetensorsFile file = SafetensorsFile.Open(path);
        file.Dispose();
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.GetBytes("x"));
        Assert.Throws<ObjectDisposedException>(() => file.Read("x"));
    }

    [Test]
    public void Writer_refuses_packed_fp4_and_says_how_to_store_it()
    {
        var fp4 = HostTensor.Zeros(DType.F4E2M1, new Shape(4, 8));
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsWriter.Serialize([Pair("experts.w1", fp4)]));
        Assert.That(ex!.Message, Does.Contain("experts.w1"));
        Assert.That(ex.Message, Does.Contain("U8").And.Contain("I8").And.Contain("last dimension halved"));

        string path = Path.Combine(Dir, "fp4.safetensors");
        Assert.Throws<SafetensorsException>(() => SafetensorsWriter.Write(path, [Pair("experts.w1", fp4)]));
        Assert.That(Directory.GetFiles(Dir), Is.Empty);
    }

    [TestCase("__metadata__", "__metadata__")]
    [TestCase("dup", "twice")]
    public void Writer_refuses_bad_names(string name, string expected)
    {
        var tensors = new[] { Pair(name, Make(DType.F32, [1])), Pair("dup", Make(DType.F32, [1])) };
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsWriter.Serialize(tensors));
        Assert.That(ex!.Message, Does.Contain(expected));
    }

    [Test]
    public void Writer_reports_an_unwritable_destination()
    {
        string path = Path.Combine(Dir, "no-such-folder", "x.safetensors");
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsWriter.Write(path, [Pair("x", Make(DType.U8, [1]))]));
        Assert.That(ex!.FilePath, Is.EqualTo(path));
    }
}
