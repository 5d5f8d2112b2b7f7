using System.Collections.Immutable;
using Silk.NET.OpenCL;

namespace Accel.Backends.OpenCL;

/// <summary>
/// Sets a kernel's OpenCL arguments in ILGPU's layout (see <see cref="KernelSignature"/>):
/// view buffers, then the extent of an implicitly grouped kernel, then every parameter.
/// </summary>
internal static unsafe class KernelArguments
{
    /// <summary>Checks the launch arguments against the signature and sets all OpenCL arguments.</summary>
    public static void Set(CL api, nint kernel, KernelSignature signature, ImmutableArray<byte[]> specialized,
        Dim3 extent, ReadOnlySpan<KernelArg> args, OpenClDeviceContext context, string name)
    {
        var parameters = signature.Parameters;
        var launchParameters = signature.LaunchParameters.ToArray();
        if (args.Length != launchParameters.Length)
        {
            throw new ArgumentException(
                $"Kernel {name} takes {launchParameters.Length} argument(s) (" +
                string.Join(", ", launchParameters.Select(p => $"{p.Type.Name} {p.Name}")) +
                $") but {args.Length} were given.", nameof(args));
        }

        // Pair every parameter with its launch argument (specialised ones have none).
        var argFor = new int[parameters.Length];
        for (int i = 0, a = 0; i < parameters.Length; i++)
        {
            argFor[i] = parameters[i].Kind == KernelParameterKind.Specialized ? -1 : a++;
            if (argFor[i] >= 0)
            {
                Validate(parameters[i], args[argFor[i]], context, name);
            }
        }

        uint index = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            if (parameters[i].Kind == KernelParameterKind.View)
            {
                nint mem = args[argFor[i]].View.Buffer.Handle;
                SetArg(api, kernel, index++, sizeof(nint), &mem, name, parameters[i].Name);
            }
        }

        if (signature.IsImplicitlyGrouped)
        {
            int* dims = stackalloc int[] { extent.X, extent.Y, extent.Z };
            SetArg(api, kernel, index++, sizeof(int) * signature.IndexRank, dims, name, "extent");
        }

        int largest = parameters.Select(p => p.ByteSize).DefaultIfEmpty(0).Max();
        Span<byte> scratch = largest <= 256 ? stackalloc byte[256] : new byte[largest];
        fixed (byte* buffer = scratch)
        {
            for (int i = 0, s = 0; i < parameters.Length; i++)
            {
                var p = parameters[i];
                int size = p.ByteSize;
                switch (p.Kind)
                {
                    case KernelParameterKind.View:
                        // ILGPU's view struct { int offset; long length; }: the offset's padding is zero.
                        var view = args[argFor[i]].View;
                        ((long*)buffer)[0] = view.ElementOffset;
                        ((long*)buffer)[1] = view.Length;
                        break;
                    case KernelParameterKind.Specialized:
                        specialized[s++].CopyTo(scratch);
                        break;
                    default:
                        args[argFor[i]].CopyTo(scratch[..size]);
                        break;
                }

                SetArg(api, kernel, index++, size, buffer, name, p.Name);
            }
        }
    }

    private static void Validate(KernelParameter p, KernelArg arg, OpenClDeviceContext context, string name)
    {
        if (p.Kind == KernelParameterKind.View)
        {
            if (!arg.IsView || arg.Type != p.ValueType)
            {
                throw new ArgumentException(
                    $"Kernel {name}, parameter '{p.Name}' is an ArrayView<{p.ValueType.Name}> but got {arg}; " +
                    $"pass buffer.View<{p.ValueType.Name}>(...).");
            }

            var view = arg.View;
            if (!ReferenceEquals(view.Buffer.Context, context))
            {
                throw new ArgumentException(
                    $"Kernel {name}, parameter '{p.Name}': the buffer belongs to another OpenCL context.");
            }

            if (view.ElementOffset > int.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(arg),
                    $"Kernel {name}, parameter '{p.Name}': a view offset above {int.MaxValue} elements cannot be " +
                    "passed (ILGPU's OpenCL view offset is an int); allocate a separate buffer.");
            }

            ObjectDisposedException.ThrowIf(view.Buffer.IsDisposed, view.Buffer);
            return;
        }

        if (arg.IsView || arg.Type != p.ValueType)
        {
            throw new ArgumentException(
                $"Kernel {name}, parameter '{p.Name}' is a {p.ValueType.Name} but got {arg}; pass exactly that type " +
                $"(KernelArg.Value<{p.ValueType.Name}>(...) for structs).");
        }
    }

    private static void SetArg(CL api, nint kernel, uint index, int size, void* value, string name, string parameter) =>
        ClStatus.Check(api.SetKernelArg(kernel, index, (nuint)size, value),
            $"clSetKernelArg({name}, {index} = '{parameter}', {size} bytes)");
}
