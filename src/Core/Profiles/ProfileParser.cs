using System.Numerics;
using System.Text.Json;
using Accel.Devices;
using Accel.Errors;
using Accel.IO;
using Accel.Types;

namespace Accel.Profiles;

/// <summary>
/// Turns a profile file's text into a <see cref="HardwareProfile"/>, validating strictly: every
/// problem is a <see cref="ProfileException"/> with the file, the JSON path and what was expected.
/// The accepted shape is documented in <c>docs/profiles.md</c> and <c>hw-profiles/schema.json</c>.
/// </summary>
internal sealed class ProfileParser
{
    /// <summary>The largest emulated group (threads per warp × warps per multiprocessor).</summary>
    internal const int MaxEmulatedGroupSize = 1024;

    /// <summary>The largest buffer alignment accepted; buffers are padded to it, so it must fit an int.</summary>
    internal const long MaxAlignmentBytes = 1L << 30;

    internal static readonly string[] TopLevelFields =
    [
        "$schema", "id", "description", "identity", "shim", "targets", "compute", "memory", "peaks", "dtypes",
        "kernels", "match", "notes",
    ];

    internal static readonly string[] RequiredTopLevelFields =
        ["id", "identity", "shim", "targets", "compute", "memory", "peaks", "dtypes", "kernels"];

    private static readonly string[] FigureFields = ["value", "unit", "source"];
    private static readonly string[] OnChipFields = ["value", "unit", "source", "scope"];
    private const string FigureShape = "an object {\"value\": number or null, \"unit\": string, \"source\": string}";

    private readonly ProfileJsonReader _json;

    private ProfileParser(string file) => _json = new ProfileJsonReader(file);

    /// <summary>Parses <paramref name="json"/>; <paramref name="file"/> names it in messages.</summary>
    public static HardwareProfile Parse(string json, string file)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            throw new ProfileException(file, "$", "the file is empty; expected a JSON object describing one device.");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions
            {
                AllowTrailingCommas = false,
                CommentHandling = JsonCommentHandling.Disallow,
                MaxDepth = 32,
            });
        }
        catch (JsonException e)
        {
            var reason = JsonErrorText.Reason(e);
            var where = e.LineNumber is { } line
                ? $" at line {line + 1}, position {(e.BytePositionInLine ?? 0) + 1}"
                : string.Empty;
            throw new ProfileException(file, "$", $"the file is not valid JSON{where}: {reason}");
        }
        catch (ArgumentException)
        {
            // Text that is not valid UTF-16 (a lone surrogate) cannot even be handed to the reader.
            throw new ProfileException(file, "$", $"the text {JsonErrorText.InvalidText}; save the file as UTF-8.");
        }

        using (document)
        {
            return new ProfileParser(file).Root(new JsonNodeAt(document.RootElement, "$"));
        }
    }

    private HardwareProfile Root(JsonNodeAt node)
    {
        var o = _json.Object(node, TopLevelFields);
        if (o.Optional("$schema") is { } schema)
        {
            _json.String(schema);
        }

        var id = Id(o.Required("id", "the profile id, e.g. \"ascend-910b\""));
        var description = o.Optional("description") is { } d ? _json.String(d) : null;
        var identity = Identity(o.Required("identity", "an object {\"vendor\", \"family\", \"model\"}"));
        var shim = Shim(o.Required("shim", $"one of: {ProfileNames.ShimNames}"));
        var targets = Targets(o.Required("targets", $"a non-empty array of: {ProfileNames.TargetNames}"));
        var compute = Compute(o.Required("compute", "an object {\"units\", \"warpWidth\", \"clock\"}"));
        var memory = Memory(o.Required("memory",
            "an object {\"onChip\", \"deviceBytes\", \"bandwidth\", \"alignmentBytes\"}"));
        var dtypes = DTypes(o.Required("dtypes", "an object {\"supported\", \"legalize\", \"source\"}"));
        var peaks = Peaks(o.Required("peaks", "an object mapping dtype names to throughput figures"), dtypes);
        var kernels = Kernels(o.Required("kernels",
            "an object {\"gemmTile\", \"rowReductionGroupSize\", \"cpuEmulation\"}"));
        var match = o.Optional("match") is { } m ? Match(m) : ValueList<MatchRule>.Empty;
        var notes = o.Optional("notes") is { } n
            ? ValueList.From(_json.Array(n, "strings", allowEmpty: true).Select(s => _json.String(s)))
            : ValueList<string>.Empty;
        return new HardwareProfile(id, description, identity, shim, targets, compute, memory, peaks, dtypes,
            kernels, match, notes);
    }

    private string Id(JsonNodeAt node)
    {
        var id = _json.String(node, "a profile id string");
        if (id == DeviceSpec.AutoName)
        {
            throw _json.Error(node.Path,
                $"expected an id other than '{DeviceSpec.AutoName}', which asks the selector to choose a device; " +
                "such a profile could not be selected by id. Rename it, e.g. 'auto-npu'.");
        }

        if (HardwareProfile.IsValidId(id))
        {
            return id;
        }

        var suggestion = new string(id.Trim().ToLowerInvariant()
            .Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        var hint = HardwareProfile.IsValidId(suggestion) ? $" (for example '{suggestion}')" : string.Empty;
        throw _json.Error(node.Path,
            $"expected an id of lower-case letters, digits and '-' ({HardwareProfile.IdPattern}){hint}, " +
            $"found '{id}'.");
    }

    private DeviceIdentity Identity(JsonNodeAt node)
    {
        var o = _json.Object(node, ["vendor", "family", "model"]);
        return new DeviceIdentity(
            _json.String(o.Required("vendor", "a string such as \"Huawei\"")),
            _json.String(o.Required("family", "a string such as \"Ascend A2 (910B)\"")),
            _json.String(o.Required("model", "a string such as \"Ascend 910B2\"")));
    }

    private ShimKind Shim(JsonNodeAt node)
    {
        var name = _json.String(node, $"one of: {ProfileNames.ShimNames}");
        return ProfileNames.TryParseShim(name, out var shim)
            ? shim
            : throw _json.Error(node.Path, $"unknown shim '{name}'; expected one of: {ProfileNames.ShimNames}.");
    }

    private ValueList<ExecutionTarget> Targets(JsonNodeAt node)
    {
        var targets = new List<ExecutionTarget>();
        foreach (var item in _json.Array(node, $"targets ({ProfileNames.TargetNames})", allowEmpty: false))
        {
            var name = _json.String(item, $"one of: {ProfileNames.TargetNames}");
            if (!ProfileNames.TryParseTarget(name, out var target))
            {
                throw _json.Error(item.Path,
                    $"unknown target '{name}'; expected one of: {ProfileNames.TargetNames}.");
            }

            if (targets.Contains(target))
            {
                throw _json.Error(item.Path, $"target '{name}' is listed twice; list each target once.");
            }

            targets.Add(target);
        }

        return ValueList.From(targets);
    }

    private ComputeSpec Compute(JsonNodeAt node)
    {
        var o = _json.Object(node, ["units", "warpWidth", "clock"]);
        return new ComputeSpec(
            Figure(o.Required("units", $"{FigureShape} counting compute units"), FigureKind.Count),
            Figure(o.Required("warpWidth", $"{FigureShape} in lanes"), FigureKind.Count),
            o.Optional("clock") is { } clock ? Figure(clock, FigureKind.Hertz) : null);
    }

    private MemorySpec Memory(JsonNodeAt node)
    {
        var o = _json.Object(node, ["onChip", "deviceBytes", "bandwidth", "alignmentBytes"]);
        var onChip = new List<OnChipMemory>();
        if (o.Optional("onChip") is { } onChipNode)
        {
            var map = _json.Object(onChipNode, allowed: null);
            foreach (var name in map.Names)
            {
                var entry = map[name];
                var fields = _json.Object(entry, OnChipFields);
                var scope = fields.Optional("scope") is { } s ? _json.String(s) : null;
                onChip.Add(new OnChipMemory(name, scope, FigureFrom(fields, FigureKind.Bytes)));
            }
        }

        var alignmentNode = o.Required("alignmentBytes", $"{FigureShape} in bytes");
        var alignment = Figure(alignmentNode, FigureKind.Bytes);
        if (alignment.BaseValueAsInt64 is { } bytes && (!BitOperations.IsPow2(bytes) || bytes > MaxAlignmentBytes))
        {
            throw _json.Error(JsonNodeAt.ChildPath(alignmentNode.Path, "value"),
                $"expected a power-of-two number of bytes no larger than {MaxAlignmentBytes} (1 GiB), found {alignment}.");
        }

        return new MemorySpec(
            ValueList.From(onChip),
            Figure(o.Required("deviceBytes", $"{FigureShape} in bytes"), FigureKind.Bytes),
            Figure(o.Required("bandwidth", $"{FigureShape} in GB/s or TB/s"), FigureKind.BytesPerSecond),
            alignment);
    }

    private DTypeSupport DTypes(JsonNodeAt node)
    {
        var o = _json.Object(node, ["supported", "legalize", "source"]);
        var supported = DTypeSet.None;
        foreach (var item in _json.Array(o.Required("supported", "a non-empty array of dtype names"),
                     "dtype names", allowEmpty: false))
        {
            var type = DTypeName(_json.String(item, "a dtype name"), item.Path);
            if (supported.Contains(type))
            {
                throw _json.Error(item.Path, $"dtype '{type.ShortName()}' is listed twice; list each dtype once.");
            }

            supported |= DTypeSetExtensions.Of(type);
        }

        var rules = new List<LegalizationRule>();
        if (o.Optional("legalize") is { } legalizeNode)
        {
            var map = _json.Object(legalizeNode, allowed: null);
            foreach (var name in map.Names)
            {
                var entry = map[name];
                var from = DTypeName(name, entry.Path);
                if (supported.Contains(from))
                {
                    throw _json.Error(entry.Path,
                        $"'{name}' is in $.dtypes.supported, so it needs no legalisation rule; remove one of the two.");
                }

                var targetName = _json.String(entry, "a supported dtype name or \"fallback\"");
                DType? to = null;
                if (targetName != "fallback")
                {
                    var target = DTypeName(targetName, entry.Path);
                    if (!supported.Contains(target))
                    {
                        throw _json.Error(entry.Path,
                            $"expected a dtype listed in $.dtypes.supported or \"fallback\", found '{targetName}', " +
                            "which the device does not support.");
                    }

                    to = target;
                }

                rules.Add(new LegalizationRule(from, to));
            }
        }

        var source = _json.String(o.Required("source", "a string citing where the dtype list comes from"));
        return new DTypeSupport(supported, ValueList.From(rules), source);
    }

    private ValueList<DTypePeak> Peaks(JsonNodeAt node, DTypeSupport dtypes)
    {
        var map = _json.Object(node, allowed: null);
        var peaks = new List<DTypePeak>();
        foreach (var name in map.Names)
        {
            var entry = map[name];
            var type = DTypeName(name, entry.Path);
            if (!dtypes.Supported.Contains(type))
            {
                throw _json.Error(entry.Path,
                    $"a peak is given for '{name}', which is not in $.dtypes.supported; " +
                    "add it there or remove the peak.");
            }

            peaks.Add(new DTypePeak(type, Figure(entry, FigureKind.OperationsPerSecond)));
        }

        return ValueList.From(peaks);
    }

    private KernelParameters Kernels(JsonNodeAt node)
    {
        var o = _json.Object(node, ["gemmTile", "rowReductionGroupSize", "cpuEmulation", "note"]);
        var tile = _json.Object(o.Required("gemmTile", "an object {\"m\", \"n\", \"k\"}"), ["m", "n", "k"]);
        var gemm = new GemmTile(
            _json.PositiveInt(tile.Required("m", "a positive whole number")),
            _json.PositiveInt(tile.Required("n", "a positive whole number")),
            _json.PositiveInt(tile.Required("k", "a positive whole number")));

        var emulationNode = o.Required("cpuEmulation",
            "an object {\"threadsPerWarp\", \"warpsPerMultiprocessor\", \"multiprocessors\"}");
        var e = _json.Object(emulationNode, ["threadsPerWarp", "warpsPerMultiprocessor", "multiprocessors"]);
        var warpNode = e.Required("threadsPerWarp", "a power of two, at least 2");
        var threadsPerWarp = _json.PositiveInt(warpNode, "a power of two, at least 2");
        if (threadsPerWarp < 2 || !BitOperations.IsPow2(threadsPerWarp))
        {
            throw _json.Error(warpNode.Path, $"expected a power of two, at least 2, found {threadsPerWarp}.");
        }

        var emulation = new CpuEmulationGeometry(
            threadsPerWarp,
            _json.PositiveInt(e.Required("warpsPerMultiprocessor", "a positive whole number")),
            _json.PositiveInt(e.Required("multiprocessors", "a positive whole number")));
        if (emulation.MaxGroupSize > MaxEmulatedGroupSize)
        {
            throw _json.Error(emulationNode.Path,
                $"expected threadsPerWarp × warpsPerMultiprocessor of at most {MaxEmulatedGroupSize}, " +
                $"found {emulation.MaxGroupSize}.");
        }

        var reductionNode = o.Required("rowReductionGroupSize", "a power of two");
        var reduction = _json.PositiveInt(reductionNode, "a power of two");
        if (!BitOperations.IsPow2(reduction) || reduction > emulation.MaxGroupSize)
        {
            throw _json.Error(reductionNode.Path,
                $"expected a power of two no larger than the emulated group size {emulation.MaxGroupSize} " +
                $"(threadsPerWarp {emulation.ThreadsPerWarp} × warpsPerMultiprocessor " +
                $"{emulation.WarpsPerMultiprocessor}), found {reduction}.");
        }

        var note = o.Optional("note") is { } n ? _json.String(n) : null;
        return new KernelParameters(gemm, reduction, emulation, note);
    }

    private ValueList<MatchRule> Match(JsonNodeAt node)
    {
        var rules = new List<MatchRule>();
        foreach (var item in _json.Array(node, "match rules", allowEmpty: true))
        {
            var o = _json.Object(item, ["api", "vendorContains", "deviceContains"]);
            var apiNode = o.Required("api", $"one of: {ProfileNames.ApiNames}");
            var apiName = _json.String(apiNode, $"one of: {ProfileNames.ApiNames}");
            if (!ProfileNames.TryParseApi(apiName, out var api))
            {
                throw _json.Error(apiNode.Path, $"unknown api '{apiName}'; expected one of: {ProfileNames.ApiNames}.");
            }

            rules.Add(new MatchRule(
                api,
                o.Optional("vendorContains") is { } v ? _json.String(v) : null,
                o.Optional("deviceContains") is { } d ? _json.String(d) : null));
        }

        return ValueList.From(rules);
    }

    private Figure Figure(JsonNodeAt node, FigureKind kind) =>
        FigureFrom(_json.Object(node, FigureFields), kind);

    private Figure FigureFrom(JsonObjectAt o, FigureKind kind)
    {
        var valueNode = o.Required("value", "a number, or null where the figure is unknown");
        var value = _json.NullableNumber(valueNode);
        var unitNode = o.Required("unit", $"one of: {FigureUnits.Describe(kind)}");
        var unit = _json.String(unitNode, $"a unit ({FigureUnits.Describe(kind)})");
        if (!FigureUnits.IsValid(kind, unit))
        {
            throw _json.Error(unitNode.Path, $"unknown unit '{unit}'; expected one of: {FigureUnits.Describe(kind)}.");
        }

        var sourceNode = o.Required("source", "a citation, \"estimate: <why>\" or \"unknown: <why>\"");
        var source = _json.String(sourceNode, "a citation, \"estimate: <why>\" or \"unknown: <why>\"");
        var figure = new Figure(kind, value, unit, source);
        var saysUnknown = source.StartsWith("unknown:", StringComparison.Ordinal)
            || source.StartsWith("n/a:", StringComparison.Ordinal);
        if (value is null && !saysUnknown)
        {
            throw _json.Error(sourceNode.Path,
                "the value is null, so expected a source starting with \"unknown:\" (or \"n/a:\") that says why, " +
                $"found \"{source}\".");
        }

        if (value is not null && saysUnknown)
        {
            throw _json.Error(sourceNode.Path,
                "the value is known, so expected a citation or \"estimate: <why>\", " +
                "not an \"unknown:\"/\"n/a:\" source.");
        }

        if (value is { } v)
        {
            CheckPositive(valueNode, kind, v, figure);
        }

        return figure;
    }

    private void CheckPositive(JsonNodeAt valueNode, FigureKind kind, double value, Figure figure)
    {
        var what = kind switch
        {
            FigureKind.Bytes => "a positive size",
            FigureKind.BytesPerSecond => "a positive bandwidth",
            FigureKind.OperationsPerSecond => "a positive throughput",
            FigureKind.Hertz => "a positive clock",
            _ => "a positive count",
        };
        if (value <= 0)
        {
            throw _json.Error(valueNode.Path, $"expected {what} (greater than zero), found {JsonFound(valueNode)}.");
        }

        if (kind == FigureKind.Count && (value != Math.Floor(value) || value > int.MaxValue))
        {
            throw _json.Error(valueNode.Path,
                $"expected a whole number no larger than {int.MaxValue}, found {JsonFound(valueNode)}.");
        }

        // The base value (bytes, bytes per second, ...) is what consumers use: it must be at least
        // one base unit (so dividing by it stays finite) and finite, and a byte count must fit the
        // 64-bit integer it is read as.
        var limit = kind == FigureKind.Bytes ? long.MaxValue : double.MaxValue;
        if (figure.BaseValue is not { } scaled || !double.IsFinite(scaled) || scaled >= limit)
        {
            throw _json.Error(valueNode.Path,
                $"expected {what} that fits in base units, found {figure}, which overflows; check the value and the unit.");
        }

        if (scaled < 1)
        {
            throw _json.Error(valueNode.Path,
                $"expected {what} of at least 1 in base units (one byte, byte per second, operation per second or " +
                $"hertz), found {figure}; check the value and the unit.");
        }

        if (kind == FigureKind.Bytes && scaled != Math.Floor(scaled))
        {
            throw _json.Error(valueNode.Path, $"expected a whole number of bytes, found {figure}.");
        }
    }

    private static string JsonFound(JsonNodeAt node) => JsonErrorText.Raw(node.Element);

    private DType DTypeName(string name, string path)
    {
        if (ProfileNames.TryParseDType(name, out var type))
        {
            return type;
        }

        var hint = DTypeInfo.TryParse(name, out var alias)
            ? $" Write '{alias.ShortName()}' (the Accel short name) instead."
            : string.Empty;
        throw _json.Error(path, $"unknown dtype '{name}'; expected one of: {ProfileNames.DTypeNames}.{hint}");
    }
}
