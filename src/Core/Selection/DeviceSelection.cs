using Accel.Backends;

namespace Accel.Selection;

/// <summary>Where a device choice came from, highest precedence first.</summary>
public enum SelectionSource
{
    /// <summary>Named explicitly: an API argument or the CLI's <c>--device</c>.</summary>
    Argument,
    /// <summary>Named by the environment variable <c>ACCEL_DEVICE</c>.</summary>
    Environment,
    /// <summary>Named by the configuration key <c>Accel:Device</c> (e.g. appsettings.json).</summary>
    Configuration,
    /// <summary>Nothing was named; the fallback chain was walked.</summary>
    Auto,
}

/// <summary>The device chosen by <see cref="DeviceSelector"/>, where the choice came from, and why.</summary>
/// <param name="Device">The chosen device (listed and usable).</param>
/// <param name="Source">The precedence level that decided.</param>
/// <param name="Reason">A sentence that explains the choice, for logs and <c>accel run</c>.</param>
/// <param name="IsAuto">True when the device was found by walking the fallback chain (<c>auto</c>).</param>
public sealed record DeviceSelection(DeviceDescriptor Device, SelectionSource Source, string Reason, bool IsAuto)
{
    /// <summary>The chosen device id (e.g. <c>cuda:0</c>).</summary>
    public string DeviceId => Device.Id;

    /// <inheritdoc/>
    public override string ToString() => $"{DeviceId} ({Source}: {Reason})";
}
