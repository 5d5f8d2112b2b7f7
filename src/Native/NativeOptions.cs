using System.Runtime.InteropServices;
using Accel.Moe;

namespace Accel.Native;

/// <summary>
/// <c>accel_session_options</c>, as laid out in <c>accel.h</c>: <c>uint32_t struct_size; const char *device;
/// int32_t layer, strict, threads, mode;</c>. <c>accel_session_options_init</c> fills the defaults.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct NativeOptions
{
    /// <summary>sizeof(accel_session_options) as the caller compiled it.</summary>
    public uint StructSize;

    /// <summary>UTF-8 device id, or NULL for <c>ACCEL_DEVICE</c>, then auto.</summary>
    public byte* Device;

    /// <summary>Layer index, or -1 for the first MoE layer.</summary>
    public int Layer;

    /// <summary>1 strict, 0 not, -1 for <c>ACCEL_STRICT</c> (default off).</summary>
    public int Strict;

    /// <summary>Worker threads of the cpu backend (0: one per processor).</summary>
    public int Threads;

    /// <summary>An <c>accel_mode</c>: 0 whole layer, 1 experts only (routed), 2 both.</summary>
    public int Mode;
}

/// <summary>Which entry points a session serves (<c>accel_mode</c>).</summary>
public enum SessionMode
{
    /// <summary><c>ACCEL_MODE_LAYER</c>: router and experts, <c>accel_session_run</c>.</summary>
    Layer = 0,
    /// <summary><c>ACCEL_MODE_ROUTED</c>: experts only, <c>accel_session_run_routed</c>.</summary>
    Routed = 1,
    /// <summary><c>ACCEL_MODE_BOTH</c>: both entry points (the weights are on the device twice).</summary>
    Both = 2,
}

/// <summary>The checked, managed form of <see cref="NativeOptions"/>.</summary>
/// <param name="Device">The device id, or null.</param>
/// <param name="Layer">The layer index, or null for the first MoE layer.</param>
/// <param name="Strict">Strict mode, or null for the default.</param>
/// <param name="Threads">Cpu worker threads (0: default).</param>
/// <param name="Mode">Which entry points the session serves.</param>
public sealed record SessionSettings(string? Device, int? Layer, bool? Strict, int Threads, SessionMode Mode)
{
    /// <summary>The defaults (what a NULL options pointer means).</summary>
    public static SessionSettings Default { get; } = new(null, null, null, 0, SessionMode.Layer);

    /// <summary>The most cpu threads an option may ask for.</summary>
    public const int MaxThreads = 4096;

    /// <summary>Whether the session runs the whole layer.</summary>
    public bool HasLayer => Mode is SessionMode.Layer or SessionMode.Both;

    /// <summary>Whether the session runs the experts on given routing.</summary>
    public bool HasRouted => Mode is SessionMode.Routed or SessionMode.Both;

    /// <summary>Reads and checks the caller's options (NULL: <see cref="Default"/>).</summary>
    public static unsafe SessionSettings From(NativeOptions* o)
    {
        if (o == null)
        {
            return Default;
        }

        if (o->StructSize < (uint)sizeof(NativeOptions))
        {
            throw new NativeArgumentException(
                $"options->struct_size is {o->StructSize} but must be at least {sizeof(NativeOptions)}; fill the options with accel_session_options_init first.");
        }

        string? device = o->Device == null ? null : Marshal.PtrToStringUTF8((nint)o->Device);
        if (device is not null && string.IsNullOrWhiteSpace(device))
        {
            throw new NativeArgumentException("options->device is empty; pass a device id such as \"cpu\" or \"opencl:0\" (see accel_devices), or NULL for the usual selection.");
        }

        Check(o->Layer >= -1, $"options->layer is {o->Layer}; pass a layer index, or -1 for the first MoE layer.");
        Check(o->Strict is >= -1 and <= 1, $"options->strict is {o->Strict}; pass 1 (strict), 0 (not strict) or -1 (ACCEL_STRICT, default off).");
        Check(o->Threads is >= 0 and <= MaxThreads, $"options->threads is {o->Threads}; pass 0 (one per processor) or 1 to {MaxThreads}.");
        Check(o->Mode is >= 0 and <= 2, $"options->mode is {o->Mode}; pass ACCEL_MODE_LAYER (0), ACCEL_MODE_ROUTED (1) or ACCEL_MODE_BOTH (2).");
        return new SessionSettings(device, o->Layer < 0 ? null : o->Layer, o->Strict < 0 ? null : o->Strict == 1, o->Threads, (SessionMode)o->Mode);
    }

    private static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new NativeArgumentException(message);
        }
    }

    /// <summary>The layer modes to build, in order.</summary>
    public IEnumerable<MoeLayerMode> LayerModes()
    {
        if (HasLayer)
        {
            yield return MoeLayerMode.Full;
        }

        if (HasRouted)
        {
            yield return MoeLayerMode.Routed;
        }
    }
}
