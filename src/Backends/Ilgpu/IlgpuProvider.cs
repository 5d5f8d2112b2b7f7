using Accel.Errors;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Accel.Backends.Ilgpu;

/// <summary>Options of the ILGPU backends.</summary>
public sealed record IlgpuOptions
{
    /// <summary>The configuration subsection (<c>Accel:Backends:Ilgpu</c>).</summary>
    public const string SectionName = "Ilgpu";

    /// <summary>Threads per simulated warp of the CPU accelerator.</summary>
    public int CpuThreadsPerWarp { get; init; } = 4;

    /// <summary>Warps per simulated multiprocessor of the CPU accelerator (threads per group = warp x warps).</summary>
    public int CpuWarpsPerMultiprocessor { get; init; } = 4;

    /// <summary>Simulated multiprocessors of the CPU accelerator (groups run in parallel).</summary>
    public int CpuMultiprocessors { get; init; } = 1;

    /// <summary>GEMM tile as (M, N, K), one of the shipped tiles; null picks the largest that fits the device.</summary>
    public (int M, int N, int K)? GemmTile { get; init; }

    /// <summary>Threads of the row-reduction groups (16, 64 or 256); null picks the largest that fits.</summary>
    public int? RowGroupSize { get; init; }

    /// <summary>Bytes the backend may allocate; null for the device's memory (CUDA) or no limit (CPU).</summary>
    public long? MemoryLimitBytes { get; init; }
}

/// <summary>
/// The <c>ilgpu</c> provider: <c>ilgpu-cpu</c> (ILGPU's CPU accelerator, always present) and
/// <c>cuda:N</c> for every CUDA device ILGPU finds. Without a CUDA driver the CUDA devices are simply
/// not listed.
/// </summary>
public sealed class IlgpuProvider : IBackendProvider
{
    /// <summary>The provider name.</summary>
    public const string ProviderName = "ilgpu";

    /// <summary>The device string of the CPU accelerator.</summary>
    public const string CpuDeviceId = "ilgpu-cpu";

    /// <summary>The device name of the CUDA devices (<c>cuda:N</c>).</summary>
    public const string CudaName = "cuda";

    private readonly IlgpuOptions _options;
    private IReadOnlyList<DeviceDescriptor>? _devices;

    /// <summary>Creates the provider.</summary>
    public IlgpuProvider(IlgpuOptions? options = null) => _options = options ?? new IlgpuOptions();

    /// <inheritdoc/>
    public string Name => ProviderName;

    /// <inheritdoc/>
    public IReadOnlyList<DeviceDescriptor> EnumerateDevices() => _devices ??= [CpuDescriptor(_options), .. CudaDevices()];

    /// <inheritdoc/>
    public bool Claims(string name) => name is CpuDeviceId or CudaName;

    /// <inheritdoc/>
    public IBackend Create(DeviceDescriptor device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.Id == CpuDeviceId)
        {
            return IlgpuBackend.CreateCpu(_options);
        }

        if (TryParseCuda(device.Id, out int index))
        {
            var known = EnumerateDevices().FirstOrDefault(d => d.Id == device.Id);
            if (known is null)
            {
                string found = string.Join(", ", EnumerateDevices().Select(d => d.Id));
                throw new BackendUnavailableException(ProviderName,
                    $"The CUDA device '{device.Id}' is not present (found: {found}). Check the NVIDIA driver, or choose ilgpu-cpu.");
            }

            return IlgpuBackend.CreateCuda(known, index, _options);
        }

        throw new BackendUnavailableException(ProviderName,
            $"The ilgpu provider has no device '{device.Id}'; its devices are {CpuDeviceId} and cuda:N.");
    }

    /// <summary>Parses <c>cuda:N</c>.</summary>
    public static bool TryParseCuda(string id, out int index)
    {
        index = -1;
        return id.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(id.AsSpan(5), out index) && index >= 0;
    }

    /// <summary>The descriptor of the CPU accelerator for the given geometry.</summary>
    public static DeviceDescriptor CpuDescriptor(IlgpuOptions options) => new(CpuDeviceId, ProviderName,
        $"ILGPU CPU accelerator ({options.CpuThreadsPerWarp}x{options.CpuWarpsPerMultiprocessor}x{options.CpuMultiprocessors})",
        DeviceKind.Cpu, null, DeviceStatus.Present,
        "runs the ILGPU kernels on ILGPU's CPU accelerator, a GPU simulator (slow; for testing)", AutoRank.Simulator);

    private static List<DeviceDescriptor> CudaDevices()
    {
        var result = new List<DeviceDescriptor>();
        try
        {
            using var context = Context.Create(b => b.Cuda());
            foreach (var device in context.GetCudaDevices())
            {
                result.Add(new DeviceDescriptor($"cuda:{result.Count}", ProviderName, device.Name, DeviceKind.Gpu,
                    device.MemorySize, DeviceStatus.Present,
                    $"CUDA via ILGPU, {device.Architecture}, {device.NumMultiprocessors} SMs", AutoRank.Gpu));
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // No driver or no usable device: CUDA devices are absent, which is not an error.
            result.Clear();
        }

        return result;
    }
}
