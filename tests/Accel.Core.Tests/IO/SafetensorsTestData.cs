using System.Buffers.Binary;
using System.Text;
using Accel.Types;
using NUnit.Framework;

namespace Accel.Core.Tests.IO;

/// <summary>Builders for tensors and hand-made safetensors bytes, plus a per-test temp folder.</summary>
public abstract class SafetensorsTestBase
{
    /// <summary>Every dtype that has a safetensors name.</summary>
    public static readonly DType[] Supported =
        [DType.F32, DType.F16, DType.BF16, DType.F8E4M3, DType.UE8M0, DType.I8, DType.U8, DType.I32, DType.I64];

    protected string Dir { get; private set; } = "";

    [SetUp]
    public void CreateDir()
    {
        Dir = Path.Combine(Path.GetTempPath(), "accel-st-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Dir);
    }

    [TearDown]
    public void DeleteDir()
    {
        if (Directory.Exists(Dir))
        {
            Directory.Delete(Dir, recursive: true);
        }
    }

    /// <summary>A tensor whose bytes are a deterministic function of <paramref name="seed"/>.</summary>
    protected static HostTensor Make(DType type, long[] dims, int seed = 1)
    {
        var shape = new Shape(dims);
        var data = new byte[type.ByteSize(shape.Elements)];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(i * 31 + seed * 7 + 3);
        }

        return new HostTensor(type, shape, data);
    }

    protected static KeyValuePair<string, HostTensor> Pair(string name, HostTensor t) => new(name, t);

    /// <summary>Writes <paramref name="bytes"/> to a file in the temp folder and returns its path.</summary>
    protected string WriteFile(string name, byte[] bytes)
    {
        string path = Path.Combine(Dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Writes tensors with the library's writer into the temp folder.</summary>
    protected string WriteTensors(string name, params (string Name, HostTensor Tensor)[] tensors)
    {
        string path = Path.Combine(Dir, name);
        Accel.IO.SafetensorsWriter.Write(path, tensors.Select(t => Pair(t.Name, t.Tensor)));
        return path;
    }

    /// <summary>
    /// Hand-made file bytes: a length prefix (<paramref name="headerLength"/> or the real length),
    /// the header text, then <paramref name="dataLength"/> data bytes.
    /// </summary>
    protected static byte[] Raw(string header, int dataLength, ulong? headerLength = null) =>
        Raw(Encoding.UTF8.GetBytes(header), dataLength, headerLength);

    protected static byte[] Raw(byte[] header, int dataLength, ulong? headerLength = null)
    {
        var bytes = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (int i = 0; i < dataLength; i++)
        {
            bytes[8 + header.Length + i] = (byte)i;
        }

        return bytes;
    }

    /// <summary>Replaces the 8-byte length prefix of a copy of <paramref name="file"/>.</summary>
    protected static byte[] WithHeaderLength(byte[] file, ulong length)
    {
        byte[] copy = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(copy, length);
        return copy;
    }

    /// <summary>The header JSON of serialized bytes, with the padding removed.</summary>
    protected static string HeaderOf(byte[] file)
    {
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        return Encoding.UTF8.GetString(file, 8, n).TrimEnd(' ');
    }
}
