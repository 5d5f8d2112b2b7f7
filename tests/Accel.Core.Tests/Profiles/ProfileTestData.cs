using System.Text.Json;
using System.Text.Json.Nodes;
using Accel.Profiles;

namespace Accel.Core.Tests.Profiles;

/// <summary>A small valid profile to mutate, and temporary folders to write profiles into.</summary>
internal static class ProfileTestData
{
    public const string ValidJson = """
        {
          "id": "test-device",
          "identity": { "vendor": "Acme", "family": "Test", "model": "T1" },
          "shim": "none",
          "targets": ["opencl", "reference"],
          "compute": {
            "units": { "value": 4, "unit": "CU", "source": "test" },
            "warpWidth": { "value": 32, "unit": "lanes", "source": "test" },
            "clock": { "value": 1.5, "unit": "GHz", "source": "test" }
          },
          "memory": {
            "onChip": { "l1": { "value": 64, "unit": "KiB", "scope": "per CU", "source": "test" } },
            "deviceBytes": { "value": 8, "unit": "GiB", "source": "test" },
            "bandwidth": { "value": 100, "unit": "GB/s", "source": "test" },
            "alignmentBytes": { "value": 64, "unit": "B", "source": "test" }
          },
          "peaks": {
            "f32": { "value": 10, "unit": "TFLOP/s", "source": "test" },
            "f16": { "value": null, "unit": "TFLOP/s", "source": "unknown: test" }
          },
          "dtypes": {
            "supported": ["f32", "f16", "i32"],
            "legalize": { "bf16": "f32", "i64": "fallback" },
            "source": "test"
          },
          "kernels": {
            "gemmTile": { "m": 32, "n": 32, "k": 16 },
            "rowReductionGroupSize": 64,
            "cpuEmulation": { "threadsPerWarp": 32, "warpsPerMultiprocessor": 4, "multiprocessors": 1 }
          },
          "match": [{ "api": "opencl", "vendorContains": "Acme" }]
        }
        """;

    /// <summary>The valid profile parsed.</summary>
    public static HardwareProfile Valid() => HardwareProfileLoader.Parse(ValidJson, "test-device.json");

    /// <summary>The valid profile with <paramref name="edit"/> applied, as JSON text.</summary>
    public static string Mutate(Action<JsonObject> edit, string? baseJson = null)
    {
        var root = JsonNode.Parse(baseJson ?? ValidJson)!.AsObject();
        edit(root);
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>The valid profile with <paramref name="edit"/> applied, parsed.</summary>
    public static HardwareProfile ParseMutated(Action<JsonObject> edit) =>
        HardwareProfileLoader.Parse(Mutate(edit), "test-device.json");

    /// <summary>The object at a dotted path such as <c>memory.deviceBytes</c>.</summary>
    public static JsonObject At(this JsonObject root, string dotted)
    {
        JsonObject current = root;
        foreach (var part in dotted.Split('.'))
        {
            current = current[part]!.AsObject();
        }

        return current;
    }
}

/// <summary>A temporary folder, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "accel-profiles-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Writes <paramref name="text"/> to <paramref name="fileName"/> and returns the full path.</summary>
    public string Write(string fileName, string text)
    {
        var file = System.IO.Path.Combine(Path, fileName);
        File.WriteAllText(file, text);
        return file;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
