using System.Collections.Immutable;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;

namespace Accel.Backends.OpenCL;

/// <summary>How one C# kernel parameter is passed.</summary>
internal enum KernelParameterKind
{
    /// <summary><c>ArrayView&lt;T&gt;</c>: a cl_mem (in the leading block) plus a 16-byte view struct.</summary>
    View,

    /// <summary>A scalar or struct, passed by value.</summary>
    Value,

    /// <summary><c>SpecializedValue&lt;T&gt;</c>: folded into the code, still passed (as T) by value.</summary>
    Specialized,
}

/// <summary>One C# kernel parameter after the index parameter.</summary>
/// <param name="Name">The C# parameter name.</param>
/// <param name="Type">The C# parameter type.</param>
/// <param name="Kind">How it is passed.</param>
/// <param name="ValueType">Element type (views), T (specialised) or the type itself (values).</param>
internal sealed record KernelParameter(string Name, Type Type, KernelParameterKind Kind, Type ValueType)
{
    /// <summary>The byte size of the by-value slot (16 for a view struct).</summary>
    public int ByteSize => Kind == KernelParameterKind.View ? 16 : KernelSignature.SizeOf(ValueType);
}

/// <summary>
/// The OpenCL argument layout of an ILGPU kernel compiled by <c>CLBackend</c>, derived from the
/// C# signature. In order: one <c>global T*</c> per view parameter; for an implicitly grouped
/// kernel the launch extent (<c>int</c> per dimension); then every parameter in C# order, a view
/// as its <c>{ int offset; long length; }</c> struct (16 bytes, offset in elements), a
/// <c>SpecializedValue&lt;T&gt;</c> as <c>T</c>, anything else by value with its C layout.
/// </summary>
internal sealed class KernelSignature
{
    private KernelSignature(MethodInfo method, int indexRank, ImmutableArray<KernelParameter> parameters)
    {
        Method = method;
        IndexRank = indexRank;
        Parameters = parameters;
        ViewCount = parameters.Count(p => p.Kind == KernelParameterKind.View);
        SpecializedCount = parameters.Count(p => p.Kind == KernelParameterKind.Specialized);
    }

    /// <summary>The kernel method.</summary>
    public MethodInfo Method { get; }

    /// <summary>1..3 for an implicitly grouped kernel (Index1D..3D), 0 for an explicitly grouped one.</summary>
    public int IndexRank { get; }

    /// <summary>Whether the first parameter is an index (ILGPU's implicitly grouped kernels).</summary>
    public bool IsImplicitlyGrouped => IndexRank > 0;

    /// <summary>The parameters after the index, in C# order.</summary>
    public ImmutableArray<KernelParameter> Parameters { get; }

    /// <summary>How many view parameters (leading cl_mem arguments) there are.</summary>
    public int ViewCount { get; }

    /// <summary>How many <c>SpecializedValue&lt;T&gt;</c> parameters there are.</summary>
    public int SpecializedCount { get; }

    /// <summary>The number of OpenCL kernel arguments.</summary>
    public int ClArgumentCount => ViewCount + (IsImplicitlyGrouped ? 1 : 0) + Parameters.Length;

    /// <summary>The parameters the caller passes at launch (specialised ones are filled in).</summary>
    public IEnumerable<KernelParameter> LaunchParameters =>
        Parameters.Where(p => p.Kind != KernelParameterKind.Specialized);

    /// <summary>Reads and validates the signature; throws <see cref="NotSupportedException"/> with the reason.</summary>
    public static KernelSignature Create(MethodInfo method)
    {
        ArgumentNullException.ThrowIfNull(method);
        string where = $"Kernel {method.DeclaringType?.Name}.{method.Name}";
        if (!method.IsStatic || method.ReturnType != typeof(void) || method.ContainsGenericParameters)
        {
            throw new NotSupportedException(
                $"{where} must be a static void method with all generic arguments bound (use MakeGenericMethod).");
        }

        var all = method.GetParameters();
        int rank = all.Length > 0 ? IndexRankOf(all[0].ParameterType) : 0;
        var list = ImmutableArray.CreateBuilder<KernelParameter>();
        foreach (var p in all.Skip(rank > 0 ? 1 : 0))
        {
            list.Add(Classify(where, p));
        }

        return new KernelSignature(method, rank, list.ToImmutable());
    }

    /// <summary>
    /// Checks the load-time values for the <c>SpecializedValue&lt;T&gt;</c> parameters (given as
    /// <c>T</c> or as <c>SpecializedValue&lt;T&gt;</c>) and returns them as boxed <c>SpecializedValue&lt;T&gt;</c>.
    /// </summary>
    public ImmutableArray<object> NormalizeSpecialization(IReadOnlyList<object>? values)
    {
        var specialized = Parameters.Where(p => p.Kind == KernelParameterKind.Specialized).ToArray();
        int given = values?.Count ?? 0;
        if (given != specialized.Length)
        {
            throw new ArgumentException(
                $"Kernel {Method.Name} has {specialized.Length} SpecializedValue parameter(s) but {given} " +
                "specialisation value(s) were given; pass one value per SpecializedValue parameter, in order.",
                nameof(values));
        }

        var result = ImmutableArray.CreateBuilder<object>(specialized.Length);
        for (int i = 0; i < specialized.Length; i++)
        {
            object value = values![i];
            var p = specialized[i];
            if (value.GetType() == p.ValueType)
            {
                value = Activator.CreateInstance(p.Type, value)!;
            }
            else if (value.GetType() != p.Type)
            {
                throw new ArgumentException(
                    $"Specialisation value {i} for parameter '{p.Name}' of kernel {Method.Name} is a " +
                    $"{value.GetType().Name}; expected {p.ValueType.Name}.", nameof(values));
            }

            result.Add(value);
        }

        return result.MoveToImmutable();
    }

    /// <summary>The bytes of a boxed <c>SpecializedValue&lt;T&gt;</c> (its value T).</summary>
    public static byte[] SpecializedBytes(object specialized)
    {
        var inner = specialized.GetType().GetGenericArguments()[0];
        var value = specialized.GetType().GetProperty(nameof(SpecializedValue<int>.Value))!.GetValue(specialized)!;
        return (byte[])BytesOfMethod.MakeGenericMethod(inner).Invoke(null, [value])!;
    }

    /// <summary>The managed (= OpenCL C) size of an unmanaged type.</summary>
    public static int SizeOf(Type t) => (int)SizeOfMethod.MakeGenericMethod(t).Invoke(null, null)!;

    private static readonly MethodInfo BytesOfMethod =
        typeof(KernelSignature).GetMethod(nameof(BytesOf), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static readonly MethodInfo SizeOfMethod =
        typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf), BindingFlags.Public | BindingFlags.Static)!;

    private static byte[] BytesOf<T>(object boxed) where T : unmanaged
    {
        T value = (T)boxed;
        return MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();
    }

    /// <summary>A stable text for cache keys: the values with their types.</summary>
    public static string DescribeSpecialization(IEnumerable<object> values) =>
        string.Join(",", values.Select(v => string.Create(CultureInfo.InvariantCulture,
            $"{v.GetType().GetGenericArguments().FirstOrDefault()?.Name}={v}")));

    private static int IndexRankOf(Type t) =>
        t == typeof(Index1D) ? 1 : t == typeof(Index2D) ? 2 : t == typeof(Index3D) ? 3
        : t == typeof(LongIndex1D) || t == typeof(LongIndex2D) || t == typeof(LongIndex3D)
            ? throw new NotSupportedException("Implicitly grouped kernels with LongIndex are not supported; use Index1D/2D/3D.")
            : 0;

    private static KernelParameter Classify(string where, ParameterInfo p)
    {
        var t = p.ParameterType;
        string name = p.Name ?? $"arg{p.Position}";
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ArrayView<>))
        {
            return new KernelParameter(name, t, KernelParameterKind.View, t.GetGenericArguments()[0]);
        }

        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(SpecializedValue<>))
        {
            var inner = t.GetGenericArguments()[0];
            CheckValueType($"{where}, parameter '{name}'", inner);
            return new KernelParameter(name, t, KernelParameterKind.Specialized, inner);
        }

        CheckValueType($"{where}, parameter '{name}'", t);
        return new KernelParameter(name, t, KernelParameterKind.Value, t);
    }

    /// <summary>
    /// Accepts primitives, enums and sequential structs of those (the C layout OpenCL uses
    /// matches .NET's sequential layout for them). Rejects bool (no OpenCL kernel argument may be
    /// bool), packed or explicit layouts, references, pointers and views inside structs.
    /// </summary>
    private static void CheckValueType(string where, Type t)
    {
        if (t == typeof(bool) || t.IsPointer || t.IsByRef || !t.IsValueType)
        {
            throw new NotSupportedException(
                $"{where}: type {t.Name} cannot be an OpenCL kernel argument; use int for flags and ArrayView<T> for memory.");
        }

        if (t.IsPrimitive || t.IsEnum || t == typeof(System.Half) || t == typeof(ILGPU.Half))
        {
            return;
        }

        if (t.IsGenericType && t.Namespace == typeof(ArrayView<>).Namespace && t.Name.StartsWith("ArrayView", StringComparison.Ordinal))
        {
            throw new NotSupportedException($"{where}: only ArrayView<T> parameters are supported (got {t.Name}), and not inside structs.");
        }

        if (t.IsExplicitLayout || t.StructLayoutAttribute is { Pack: not 0 and not 8 } || !t.IsLayoutSequential)
        {
            throw new NotSupportedException($"{where}: struct {t.Name} must have the default sequential layout.");
        }

        foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            CheckValueType($"{where}, field {t.Name}.{f.Name}", f.FieldType);
        }
    }
}
