using System.Text;

namespace Accel.Peers;

/// <summary>
/// Writes the few protobuf messages of an ONNX ModelProto (onnx.proto field numbers) by hand:
/// varints, fixed32 floats and length-delimited fields, so no protobuf dependency is needed.
/// </summary>
internal sealed class Proto
{
    private readonly MemoryStream _s = new();

    public byte[] ToArray() => _s.ToArray();

    public Proto Int(int field, long value)
    {
        Tag(field, 0);
        Varint((ulong)value);
        return this;
    }

    public Proto Float(int field, float value)
    {
        Tag(field, 5);
        Span<byte> b = stackalloc byte[4];
        BitConverter.TryWriteBytes(b, value);
        _s.Write(b);
        return this;
    }

    public Proto Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        Varint((ulong)value.Length);
        _s.Write(value);
        return this;
    }

    public Proto String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public Proto Message(int field, Proto inner) => Bytes(field, inner.ToArray());

    private void Tag(int field, int wire) => Varint((ulong)((field << 3) | wire));

    private void Varint(ulong v)
    {
        while (v >= 0x80)
        {
            _s.WriteByte((byte)(v | 0x80));
            v >>= 7;
        }

        _s.WriteByte((byte)v);
    }
}

/// <summary>Builds an ONNX graph node by node and serialises the model.</summary>
internal sealed class OnnxGraph
{
    /// <summary>TensorProto data types used here.</summary>
    public const int Float = 1, Int64 = 7, Bool = 9;

    private readonly List<Proto> _nodes = [];
    private readonly List<Proto> _initializers = [];
    private readonly List<Proto> _inputs = [];
    private readonly List<Proto> _outputs = [];
    private int _count;

    public void Input(string name, int type, params object[] dims) => _inputs.Add(ValueInfo(name, type, dims));

    public void Output(string name, int type, params object[] dims) => _outputs.Add(ValueInfo(name, type, dims));

    public string Constant(string name, float[] values, params long[] dims) =>
        Initializer(name, Float, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), dims);

    public string Constant(string name, long[] values, params long[] dims) =>
        Initializer(name, Int64, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()), dims);

    public string Initializer(string name, int type, ReadOnlySpan<byte> raw, params long[] dims)
    {
        _initializers.Add(Tensor(name, type, raw, dims));
        return name;
    }

    /// <summary>Adds a node; attributes are (name, value) with long, float, string, long[] or a tensor Proto.</summary>
    public string[] Node(string op, string[] inputs, int outputs, string domain = "", params (string Name, object Value)[] attributes) =>
        Node(op, inputs, Enumerable.Range(0, outputs).Select(i => $"{op.ToLowerInvariant()}_{_count}_{i}").ToArray(), domain, attributes);

    /// <summary>Adds a node with named outputs.</summary>
    public string[] Node(string op, string[] inputs, string[] names, string domain = "", params (string Name, object Value)[] attributes)
    {
        var n = new Proto();
        foreach (string i in inputs) { n.String(1, i); }
        foreach (string o in names) { n.String(2, o); }
        n.String(3, $"{op}_{_count++}").String(4, op);
        if (domain.Length > 0) { n.String(7, domain); }
        foreach (var (name, value) in attributes)
        {
            var a = new Proto().String(1, name);
            switch (value)
            {
                case long l: a.Int(20, 2).Int(3, l); break;
                case int l: a.Int(20, 2).Int(3, l); break;
                case float f: a.Int(20, 1).Float(2, f); break;
                case string s: a.Int(20, 3).String(4, s); break;
                case long[] ls: a.Int(20, 7); foreach (long l in ls) { a.Int(8, l); } break;
                case Proto t: a.Int(20, 4).Message(5, t); break;
                default: throw new ArgumentException($"attribute {name}");
            }

            n.Message(5, a);
        }

        _nodes.Add(n);
        return names;
    }

    public string One(string op, params string[] inputs) => Node(op, inputs, 1)[0];

    public byte[] Serialize(params (string Domain, long Version)[] opsets)
    {
        var g = new Proto();
        foreach (var n in _nodes) { g.Message(1, n); }
        g.String(2, "moe");
        foreach (var t in _initializers) { g.Message(5, t); }
        foreach (var i in _inputs) { g.Message(11, i); }
        foreach (var o in _outputs) { g.Message(12, o); }
        var m = new Proto().Int(1, 8).String(2, "accel-peers");
        foreach (var (domain, version) in opsets)
        {
            var op = new Proto();
            if (domain.Length > 0) { op.String(1, domain); }
            m.Message(8, op.Int(2, version));
        }

        return m.Message(7, g).ToArray();
    }

    public static Proto Tensor(string name, int type, ReadOnlySpan<byte> raw, params long[] dims)
    {
        var t = new Proto();
        foreach (long d in dims) { t.Int(1, d); }
        return t.Int(2, type).String(8, name).Bytes(9, raw);
    }

    private static Proto ValueInfo(string name, int type, object[] dims)
    {
        var shape = new Proto();
        foreach (object d in dims)
        {
            shape.Message(1, d is string p ? new Proto().String(2, p) : new Proto().Int(1, Convert.ToInt64(d)));
        }

        var tensor = new Proto().Int(1, type).Message(2, shape);
        return new Proto().String(1, name).Message(2, new Proto().Message(1, tensor));
    }
}
