using System.Runtime.InteropServices;
using Accel.Types;

namespace Accel.Native.Tests;

/// <summary>accel_tensor and accel_session_options: layout, checks and conversions.</summary>
public sealed unsafe class MarshallingTests
{
    [Test]
    public void Struct_layouts_match_accel_h()
    {
        // accel_tensor: void*, int32, int32, int64[4]; accel_session_options: uint32 (+4 padding), char*, 4 x int32.
        Assert.That(sizeof(NativeTensor), Is.EqualTo(48));
        Assert.That(Marshal.OffsetOf<NativeTensor>(nameof(NativeTensor.NDim)), Is.EqualTo((nint)12));
        Assert.That(sizeof(NativeOptions), Is.EqualTo(32));
        Assert.That(Marshal.OffsetOf<NativeOptions>(nameof(NativeOptions.Mode)), Is.EqualTo((nint)28));
        Assert.That(sizeof(NativeNamedTensor), Is.EqualTo(56));
        Assert.That(sizeof(NativeApi), Is.EqualTo(8 * 8));
    }

    private static NativeTensor Tensor(void* data, DType type, params long[] shape)
    {
        var t = new NativeTensor { Data = data, DType = (int)type, NDim = shape.Length };
        for (int i = 0; i < shape.Length; i++)
        {
            t.Shape[i] = shape[i];
        }

        return t;
    }

    /// <summary>The message of the refusal of <paramref name="t"/> (fails the test when it is accepted).</summary>
    private static string Refusal(NativeTensor t, HostTensor? write = null, params DType[] allowed)
    {
        try
        {
            if (write is null)
            {
                NativeTensors.Read(&t, "x");
            }
            else
            {
                NativeTensors.Write(&t, write, "out", allowed);
            }
        }
        catch (NativeArgumentException e)
        {
            return e.Message;
        }

        Assert.Fail("the tensor was accepted");
        return "";
    }

    private static string Refusal(NativeOptions o)
    {
        try
        {
            SessionSettings.From(&o);
        }
        catch (NativeArgumentException e)
        {
            return e.Message;
        }

        Assert.Fail("the options were accepted");
        return "";
    }

    private static readonly object[] BadTensors =
    [
        new object[] { "dtype 10", 10, 2, 2L, "dtype 10 is not an accel_dtype" },
        new object[] { "dtype -1", -1, 2, 2L, "dtype -1 is not an accel_dtype" },
        new object[] { "rank 0", 0, 0, 2L, "ndim is 0" },
        new object[] { "rank 5", 0, 5, 2L, "ndim is 5" },
        new object[] { "a negative extent", 0, 2, -1L, "shape[1] is -1" },
        new object[] { "an extent of 2^62", 0, 2, 1L << 62, "is too large" },
    ];

    [TestCaseSource(nameof(BadTensors))]
    public void Bad_descriptors_are_refused(string what, int dtype, int ndim, long extent, string message)
    {
        _ = what;
        float value = 1;
        var t = new NativeTensor { Data = &value, DType = dtype, NDim = ndim };
        t.Shape[0] = 1;
        t.Shape[1] = extent;
        Assert.That(Refusal(t), Does.Contain(message));
    }

    [Test]
    public void Null_data_is_allowed_only_for_an_empty_tensor()
    {
        var empty = Tensor(null, DType.F32, 0, 8);
        Assert.That(NativeTensors.Read(&empty, "x").Shape, Is.EqualTo(new Shape(0, 8)));
        var full = Tensor(null, DType.F32, 2, 8);
        Assert.That(Refusal(full), Does.Contain("data is NULL but the shape [2, 8] holds 16 elements"));
        Assert.That(Assert.Throws<NativeArgumentException>(() => NativeTensors.Read(null, "hidden"))!.Message,
            Does.Contain("hidden is NULL"));
    }

    [Test]
    public void Reads_copy_and_writes_convert()
    {
        float[] values = [1.5f, -2.25f, 3.0e-3f, 65504f];
        var result = HostTensor.FromF32(new Shape(2, 2), values);
        fixed (float* p = values)
        {
            var t = Tensor(p, DType.F32, 2, 2);
            var copy = NativeTensors.Read(&t, "x");
            p[0] = 99;
            Assert.That(copy.AsSpan<float>()[0], Is.EqualTo(1.5f), "the caller's buffer may change after the call");
        }

        ushort[] bf16 = new ushort[4], f16 = new ushort[4];
        fixed (ushort* b = bf16, h = f16)
        {
            var tb = Tensor(b, DType.BF16, 2, 2);
            var th = Tensor(h, DType.F16, 2, 2);
            NativeTensors.Write(&tb, result, "out", DType.F32, DType.BF16, DType.F16);
            NativeTensors.Write(&th, result, "out", DType.F32, DType.BF16, DType.F16);
        }

        Assert.That(bf16, Is.EqualTo(result.ToF32().Select(NumericFormats.F32ToBF16).ToArray()));
        Assert.That(f16, Is.EqualTo(result.ToF32().Select(NumericFormats.F32ToF16).ToArray()));

        long[] wide = new long[3];
        fixed (long* w = wide)
        {
            var t = Tensor(w, DType.I64, 1, 3);
            NativeTensors.Write(&t, HostTensor.FromI32(new Shape(1, 3), [7, -1, int.MaxValue]), "ids", DType.I32, DType.I64);
        }

        Assert.That(wide, Is.EqualTo(new long[] { 7, -1, int.MaxValue }));
    }

    [Test]
    public void Writes_check_shape_and_type()
    {
        var result = HostTensor.FromF32(new Shape(2, 2), [1, 2, 3, 4]);
        float* buffer = stackalloc float[8];
        var wrongShape = Tensor(buffer, DType.F32, 2, 3);
        Assert.That(Refusal(wrongShape, result, DType.F32), Does.Contain("out must be [2, 2] but is [2, 3]"));
        var wrongType = Tensor(buffer, DType.I32, 2, 2);
        Assert.That(Refusal(wrongType, result, DType.F32, DType.BF16), Does.Contain("out must be f32, bf16 but is i32"));
    }

    [Test]
    public void Options_default_and_validate()
    {
        Assert.That(SessionSettings.From(null), Is.SameAs(SessionSettings.Default));
        byte[] device = "opencl:0\0"u8.ToArray();
        fixed (byte* d = device)
        {
            var o = new NativeOptions { StructSize = (uint)sizeof(NativeOptions), Device = d, Layer = 3, Strict = 1, Threads = 4, Mode = 2 };
            Assert.That(SessionSettings.From(&o), Is.EqualTo(new SessionSettings("opencl:0", 3, true, 4, SessionMode.Both)));
            o = new NativeOptions { StructSize = (uint)sizeof(NativeOptions), Layer = -1, Strict = -1 };
            Assert.That(SessionSettings.From(&o), Is.EqualTo(SessionSettings.Default));
        }

        (NativeOptions Options, string Message)[] bad =
        [
            (new NativeOptions { StructSize = 8 }, "struct_size is 8"),
            (new NativeOptions { StructSize = 32, Layer = -2 }, "options->layer is -2"),
            (new NativeOptions { StructSize = 32, Strict = 2 }, "options->strict is 2"),
            (new NativeOptions { StructSize = 32, Threads = 5000 }, "options->threads is 5000"),
            (new NativeOptions { StructSize = 32, Mode = 3 }, "options->mode is 3"),
        ];
        foreach (var (options, message) in bad)
        {
            Assert.That(Refusal(options), Does.Contain(message));
        }
    }
}
