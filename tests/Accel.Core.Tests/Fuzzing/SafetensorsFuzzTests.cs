using Accel.IO;
using Accel.Moe;
using Accel.Types;

namespace Accel.Core.Tests.Fuzzing;

/// <summary>
/// Mutated safetensors files: each either opens into a file whose every tensor can be described
/// and viewed with exactly the bytes its dtype and shape need (and, for a checkpoint seed, loads as
/// a layer through <see cref="MoeWeightLoader"/> or is refused), or is refused with a clear error.
/// </summary>
[TestFixture]
[Category("fuzz")]
public sealed class SafetensorsFuzzTests
{
    /// <summary>A valid file to start from and, for a checkpoint layer, the config and layer to load it as.</summary>
    private sealed record SeedFile(string Name, byte[] Bytes, MoeConfig? Config, int Layer);

    private static readonly Lazy<SeedFile[]> Seeds = new(() =>
    [
        Layer("mixtral-tiny", MoePresets.MixtralTiny, 1, SyntheticFormat.F32),
        Layer("qwen2-moe-tiny", MoePresets.Qwen2MoeTiny, 0, SyntheticFormat.BF16),
        Layer("deepseek-v3-tiny", MoePresets.DeepSeekV3Tiny, 2, SyntheticFormat.Fp8),
        Layer("deepseek-v4-tiny", MoePresets.DeepSeekV4Tiny, 3, SyntheticFormat.Fp4),
        Layer("deepseek-v4-tiny-hash", MoePresets.DeepSeekV4Tiny, 0, SyntheticFormat.Fp8),
        EveryDType(),
    ]);

    private string _dir = "";

    [SetUp]
    public void CreateDir() => _dir = Directory.CreateTempSubdirectory("accel-fuzz-").FullName;

    [TearDown]
    public void DeleteDir() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Mutated_files_open_consistently_or_fail_with_a_clear_error()
    {
        var seeds = Seeds.Value;
        var run = new FuzzRun("safetensors");
        string path = Path.Combine(_dir, "fuzz.safetensors");
        foreach (int seed in run.Seeds)
        {
            var (start, bytes, what) = run.Prepare(seed, () =>
            {
                var rng = new Random(seed);
                SeedFile start = seeds[rng.Next(seeds.Length)];
                var (bytes, what) = SafetensorsMutator.Mutate(start.Bytes, rng);
                return (start, bytes, what);
            });
            File.WriteAllBytes(path, bytes);
            run.Case(seed, $"seed file {start.Name}; {what}", bytes.Length, () => Check(path, start));
        }

        run.AssertNoFindings();
    }

    private static void Check(string path, SeedFile start)
    {
        using var file = SafetensorsFile.Open(path);
        CheckFile(file, new FileInfo(path).Length);
        if (start.Config is { } config)
        {
            var weights = MoeWeightLoader.Load(file, config, start.Layer);
            foreach ((string name, HostTensor t) in weights)
            {
                Expect(t.Bytes.Length == t.Type.ByteSize(t.Shape.Elements),
                    $"loaded weight '{name}' ({t.Type.ShortName()} {t.Shape}) holds {t.Bytes.Length} bytes");
            }
        }
    }

    /// <summary>Every tensor the header lists can be described and viewed with exactly the bytes it needs.</summary>
    internal static void CheckFile(SafetensorsFile file, long fileLength)
    {
        Expect(file.Names.SequenceEqual(file.Names.Distinct().Order(StringComparer.Ordinal)),
            "tensor names are not unique and sorted");
        long total = 0;
        foreach (string name in file.Names)
        {
            TensorDesc desc = file.Describe(name);
            Expect(file.Contains(name) && file.TryDescribe(name, out var again) && again == desc,
                $"'{name}' is listed but Contains/TryDescribe disagree");
            int length = file.GetBytes(name).Length;
            Expect(length == desc.Type.ByteSize(desc.Shape.Elements),
                $"'{name}' ({desc.Type.ShortName()} {desc.Shape}) views {length} bytes");
            total += length;
        }

        Expect(total <= fileLength, $"the tensors span {total} bytes of a {fileLength}-byte file");
    }

    private static void Expect(bool ok, string problem)
    {
        if (!ok)
        {
            throw new FuzzInconsistencyException(problem);
        }
    }

    private static SeedFile Layer(string name, MoeConfig config, int layer, SyntheticFormat format) =>
        new(name, SafetensorsWriter.Serialize(SyntheticCheckpoint.Create(config, layer, format)), config, layer);

    /// <summary>One small tensor of every dtype, an empty and a scalar tensor, and metadata.</summary>
    private static SeedFile EveryDType()
    {
        var tensors = new Dictionary<string, HostTensor>(StringComparer.Ordinal);
        DType[] types = [DType.F32, DType.F16, DType.BF16, DType.F8E4M3, DType.UE8M0, DType.I8, DType.U8, DType.I32, DType.I64];
        foreach (DType type in types)
        {
            var shape = new Shape(2, 3);
            var data = new byte[type.ByteSize(shape.Elements)];
            new Random((int)type).NextBytes(data);
            tensors[type.ShortName()] = new HostTensor(type, shape, data);
        }

        tensors["empty"] = new HostTensor(DType.F32, new Shape(0, 4), []);
        tensors["scalar"] = HostTensor.FromF32(Shape.Scalar, [1.5f]);
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "fuzz seed \u00e9" };
        return new SeedFile("every-dtype", SafetensorsWriter.Serialize(tensors, metadata), null, 0);
    }
}
