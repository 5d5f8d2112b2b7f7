using Accel.Core.Tests.Moe;
using Accel.Moe;

namespace Accel.Core.Tests.Fuzzing;

/// <summary>
/// Mutated Hugging Face config.json text: each either parses into a config that passes validation
/// and survives a write-and-read round trip unchanged, or is refused with a clear error.
/// </summary>
[TestFixture]
[Category("fuzz")]
public sealed class ConfigFuzzTests
{
    /// <summary>Valid configs to start from: every preset as written by the project, and published configs.</summary>
    private static readonly (string Name, string Json)[] Seeds =
    [
        .. MoePresets.All.Select(p => (p.Key, HfConfigWriter.ToJson(p.Value))),
        ("deepseek-v3-published", ConfigParseTests.V3Json),
        ("deepseek-v2-lite-published", ConfigParseTests.V2LiteJson),
        ("deepseek-v4-flash-published", ConfigParseTests.V4FlashJson),
        ("mixtral-published", ConfigParseTests.MixtralJson),
        ("qwen-published", ConfigParseTests.QwenJson),
    ];

    [Test]
    public void Mutated_configs_parse_consistently_or_fail_with_a_clear_error()
    {
        var run = new FuzzRun("config");
        run.JsonCases(Seeds, (text, _) => Check(HfConfigReader.Parse(text, "config.json")));
        run.AssertNoFindings();
    }

    /// <summary>A parsed config is valid and reads back the same after being written.</summary>
    internal static void Check(MoeConfig config)
    {
        MoeConfigValidator.Validate(config);
        MoeConfig again = HfConfigReader.Parse(HfConfigWriter.ToJson(config), "round-trip.json");
        if (again != config)
        {
            throw new FuzzInconsistencyException($"the config {config} reads back as {again} after being written");
        }
    }
}
