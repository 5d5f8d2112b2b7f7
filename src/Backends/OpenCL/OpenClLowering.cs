using System.Text;
using System.Text.RegularExpressions;

namespace Accel.Backends.OpenCL;

/// <summary>
/// Rewrites the OpenCL C that ILGPU's <c>CLBackend</c> generates (written for OpenCL C 2.0) into
/// OpenCL C 1.2, which PoCL, Mesa rusticl and most drivers accept. The result is also valid
/// OpenCL C 2.0 / 3.0, so devices that do have the generic address space take the same path.
/// The rewrites, all mechanical and on generated code only:
/// <list type="bullet">
/// <item><c>__generic</c> pointers (ILGPU's view pointers) become <c>__global</c>: ILGPU infers
///   shared-memory pointers as <c>local</c> itself, so what remains generic are kernel views.</item>
/// <item><c>work_group_barrier(flags)</c> (<c>Group.Barrier()</c>) becomes
///   <c>barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)</c>: ILGPU passes only the global
///   fence, but a barrier that guards shared memory needs the local one too.</item>
/// <item><c>work_group_barrier(flags, scope)</c> (a <c>MemoryFence</c>) becomes
///   <c>mem_fence(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)</c>.</item>
/// <item>C11 atomics on <c>(atomic_int*)</c>-style casts become the 1.2 built-ins:
///   <c>atomic_fetch_add/sub/and/or/xor/min/max</c> and <c>atomic_exchange</c> map to
///   <c>atomic_add/...</c> and <c>atomic_xchg</c> (32-bit; <c>atom_*</c> for 64-bit from
///   cl_khr_int64_*_atomics); the pointer keeps its address space and signedness through a
///   <c>(volatile __global uint*)</c>-style cast. <c>atomic_compare_exchange_strong(p, &amp;e, d);</c>,
///   whose result ILGPU reads from <c>e</c>, becomes <c>e = atomic_cmpxchg(p, e, d);</c>.</item>
/// </list>
/// What cannot be lowered (work-group collectives, sub-groups, float atomics other than
/// exchange, dynamic shared memory) is reported by <see cref="FindUnsupported"/>.
/// </summary>
public static partial class OpenClLowering
{
    /// <summary>Bumped whenever the rewrites change; part of the program cache key.</summary>
    public const int Version = 1;

    private const string FullFence = "CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE";

    /// <summary>Rewrites generated OpenCL C (2.0 style) into OpenCL C 1.2. Idempotent.</summary>
    /// <param name="source">OpenCL C as ILGPU's <c>CLBackend</c> generated it.</param>
    public static string ToOpenCl12(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        string text = GenericRegex().Replace(source, "__global");
        text = FenceRegex().Replace(text, $"mem_fence({FullFence})");
        text = BarrierRegex().Replace(text, $"barrier({FullFence})");

        var spaces = new AddressSpaces(text);
        text = CasRegex().Replace(text, m =>
        {
            var (name, type) = Builtin("cmpxchg", m.Groups["t"].Value);
            string exp = m.Groups["exp"].Value;
            return $"{exp} = {name}({spaces.Cast(m.Groups["ptr"].Value, m.Index, type)}, {exp}, {m.Groups["des"].Value.Trim()});";
        });
        text = RmwRegex().Replace(text, m =>
        {
            string op = m.Groups["op"].Value;
            string t = m.Groups["t"].Value;
            string kind = op == "atomic_exchange" ? "xchg" : op["atomic_fetch_".Length..];
            if (t is "float" && kind != "xchg")
            {
                return m.Value; // no 1.2 built-in; FindUnsupported reports it
            }

            var (name, type) = Builtin(kind, t);
            return $"{name}({spaces.Cast(m.Groups["ptr"].Value, m.Index, type)},";
        });

        return EnsureInt64AtomicsPragma(text);
    }

    /// <summary>
    /// Lists constructs in (lowered) OpenCL C that OpenCL C 1.2 lacks, one sentence each with the
    /// line number; empty when the source only uses OpenCL C 1.2.
    /// </summary>
    /// <param name="source">OpenCL C, normally the output of <see cref="ToOpenCl12"/>.</param>
    public static IReadOnlyList<string> FindUnsupported(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var problems = new List<string>();
        var lines = source.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            foreach (var (pattern, reason) in Unsupported)
            {
                var m = pattern.Match(lines[i]);
                if (m.Success)
                {
                    problems.Add($"line {i + 1}: '{m.Value.Trim()}' {reason}");
                }
            }
        }

        return problems;
    }

    private static readonly (Regex Pattern, string Reason)[] Unsupported =
    [
        (new Regex(@"\b__generic\b"), "uses the generic address space, which OpenCL C 1.2 lacks."),
        (new Regex(@"\bwork_group_\w+"),
            "is an OpenCL 2.0 work-group function; do reductions and scans through shared memory and Group.Barrier()."),
        (new Regex(@"\b(?:get_)?sub_group_\w+|\bintel_sub_group\w*"),
            "needs sub-groups; warp intrinsics are not part of the portable kernel subset."),
        (new Regex(@"\batomic_(?:fetch_\w+|exchange|compare_exchange_\w+|load|store|init|flag_\w+)\b"),
            "is a C11 atomic with no OpenCL C 1.2 built-in (float atomics other than Exchange need a CAS loop in the kernel)."),
        (new Regex(@"\bto_(?:global|local|private)\s*\("), "is an address-space cast, which OpenCL C 1.2 lacks."),
        (new Regex(@"\bmemory_(?:scope|order)_\w+"), "is a C11 memory scope/order, which OpenCL C 1.2 lacks."),
        (new Regex(@"\bdynamic_shared_memory\b"),
            "is dynamic shared memory, which this backend does not pass; use SharedMemory.Allocate with a constant or specialised size."),
    ];

    /// <summary>The 1.2 built-in and the C element type for a C11 atomic on <c>atomic_{t}</c>.</summary>
    private static (string Name, string Type) Builtin(string kind, string t) =>
        t is "long" or "ulong" ? ($"atom_{kind}", t) : ($"atomic_{kind}", t);

    private static string EnsureInt64AtomicsPragma(string text)
    {
        if (!Atom64Regex().IsMatch(text) || text.Contains("cl_khr_int64_base_atomics", StringComparison.Ordinal))
        {
            return text;
        }

        return "#pragma OPENCL EXTENSION cl_khr_int64_base_atomics : enable\n" +
               "#pragma OPENCL EXTENSION cl_khr_int64_extended_atomics : enable\n" + text;
    }

    /// <summary>
    /// The address space of each pointer variable, from ILGPU's typedefs
    /// (<c>typedef __global int* type_12;</c>), declarations (<c>type_12 var3;</c>) and kernel
    /// parameters (<c>global int* view_0</c>). Names repeat across functions, so a lookup takes
    /// the last declaration before the use.
    /// </summary>
    private sealed class AddressSpaces
    {
        private readonly Dictionary<string, List<(int Position, string Space)>> declarations = new();

        public AddressSpaces(string text)
        {
            var typedefs = new Dictionary<string, string>();
            foreach (Match m in TypedefRegex().Matches(text))
            {
                typedefs[m.Groups["name"].Value] = Normalize(m.Groups["as"].Value);
            }

            foreach (Match m in DeclarationRegex().Matches(text))
            {
                if (typedefs.TryGetValue(m.Groups["type"].Value, out var space))
                {
                    Add(m.Groups["var"].Value, m.Index, space);
                }
            }

            foreach (Match m in PointerDeclarationRegex().Matches(text))
            {
                Add(m.Groups["var"].Value, m.Index, Normalize(m.Groups["as"].Value));
            }
        }

        /// <summary><c>(volatile __global uint*)ptr</c>, or the bare pointer when its space is unknown.</summary>
        public string Cast(string pointer, int position, string elementType)
        {
            string? space = null;
            if (declarations.TryGetValue(pointer, out var list))
            {
                foreach (var (p, s) in list)
                {
                    if (p < position)
                    {
                        space = s;
                    }
                }
            }

            return space is null ? pointer : $"(volatile {space} {elementType}*){pointer}";
        }

        private void Add(string name, int position, string space)
        {
            if (!declarations.TryGetValue(name, out var list))
            {
                declarations[name] = list = [];
            }

            list.Add((position, space));
            list.Sort((a, b) => a.Position.CompareTo(b.Position));
        }

        private static string Normalize(string space) => "__" + space.TrimStart('_');
    }

    [GeneratedRegex(@"\b__generic\b")]
    private static partial Regex GenericRegex();

    [GeneratedRegex(@"\bwork_group_barrier\s*\(\s*[\w\s|]+?\s*,\s*memory_scope_\w+\s*\)")]
    private static partial Regex FenceRegex();

    [GeneratedRegex(@"\bwork_group_barrier\s*\(\s*[\w\s|]+?\s*\)")]
    private static partial Regex BarrierRegex();

    [GeneratedRegex(@"\batomic_compare_exchange_strong\s*\(\s*\(\s*atomic_(?<t>int|uint|long|ulong)\s*\*\s*\)\s*(?<ptr>\w+)\s*,\s*\(\s*\w+\s*\*\s*\)\s*&\s*(?<exp>\w+)\s*,\s*(?<des>[^;]+?)\)\s*;")]
    private static partial Regex CasRegex();

    [GeneratedRegex(@"\b(?<op>atomic_fetch_(?:add|sub|and|or|xor|min|max)|atomic_exchange)\s*\(\s*\(\s*atomic_(?<t>int|uint|long|ulong|float)\s*\*\s*\)\s*(?<ptr>\w+)\s*,")]
    private static partial Regex RmwRegex();

    [GeneratedRegex(@"\batom_\w+\s*\(")]
    private static partial Regex Atom64Regex();

    [GeneratedRegex(@"\btypedef\s+(?<as>__global|global|__local|local|__private|private|__constant|constant)\s+[^;*]+?\*\s*(?<name>\w+)\s*;")]
    private static partial Regex TypedefRegex();

    [GeneratedRegex(@"(?<type>\b\w+)\s+(?<var>\w+)\s*[;,)]")]
    private static partial Regex DeclarationRegex();

    [GeneratedRegex(@"\b(?<as>__global|global|__local|local|__constant|constant)\s+[\w\s]+?\*\s*(?<var>\w+)\s*[;,)]")]
    private static partial Regex PointerDeclarationRegex();
}
