using System.Diagnostics;
using Accel.Backends.Ilgpu;
using Accel.Kernels;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using NUnit.Framework;

namespace Accel.Kernels.Tests;

/// <summary>
/// Proves without a GPU that every shipped kernel specialisation compiles to PTX (ILGPU's PTXBackend
/// built from an architecture, ISA 7.8) and that NVIDIA's ptxas assembles it for sm_80 and sm_90.
/// </summary>
[TestFixture]
public sealed class PtxCompileTests
{
    [TestCase(8, 0)]
    [TestCase(9, 0)]
    public void EveryKernelAssemblesWithPtxas(int major, int minor)
    {
        string? ptxas = PtxasLocator.Find();
        if (ptxas is null)
        {
            Assert.Ignore("ptxas was not found: run tools/get-ptxas.sh (installs it into .tools/ptxas), " +
                "put it on PATH, or set ACCEL_PTXAS.");
        }

        var arch = new CudaArchitecture(major, minor);
        string dir = Path.Combine(Path.GetTempPath(), $"accel-ptx-{Environment.ProcessId}-sm{major}{minor}");
        Directory.CreateDirectory(dir);
        try
        {
            using var context = Context.Create(IlgpuBackend.ConfigureContext);
            using var backend = new PTXBackend(context, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_78, null);
            var compileTime = Stopwatch.StartNew();
            var files = new List<(string Name, string File)>();
            var doubles = new List<string>();
            foreach (var (name, method) in KernelCatalog.All())
            {
                var compiled = (PTXCompiledKernel)backend.Compile(
                    EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty);
                string file = Path.Combine(dir, name + ".ptx");
                File.WriteAllText(file, compiled.PTXAssembly);
                files.Add((name, file));
                if (compiled.PTXAssembly.Contains(".f64", StringComparison.Ordinal))
                {
                    doubles.Add(name);
                }
            }

            compileTime.Stop();
            Assert.That(doubles, Is.Empty, "kernels with fp64 arithmetic (an accidental promotion, slow on most GPUs)");
            var assembleTime = Stopwatch.StartNew();
            var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
            Parallel.ForEach(files, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, f =>
            {
                var (code, output) = Run(ptxas, $"-arch=sm_{major}{minor} \"{f.File}\" -o \"{f.File}.cubin\"");
                if (code != 0)
                {
                    failures.Add($"{f.Name}: ptxas exited with {code}: {output}");
                }
            });
            assembleTime.Stop();
            int count = files.Count;
            TestContext.Out.WriteLine($"{count} kernels compiled to PTX ({compileTime.Elapsed.TotalSeconds:0.0} s) and " +
                $"assembled by ptxas for sm_{major}{minor} ({assembleTime.Elapsed.TotalSeconds:0.0} s).");
            Assert.That(failures, Is.Empty);
            Assert.That(count, Is.GreaterThanOrEqualTo(60), "the catalog lists fewer kernels than expected");
        }
        finally
        {
            // ACCEL_KEEP_PTX=1 keeps the generated PTX for inspection.
            if (Environment.GetEnvironmentVariable("ACCEL_KEEP_PTX") is null)
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    private static (int Code, string Output) Run(string exe, string args)
    {
        var psi = new ProcessStartInfo(exe, args) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}

/// <summary>Finds ptxas: ACCEL_PTXAS, then .tools/ptxas/bin/ptxas in the repository, then PATH.</summary>
internal static class PtxasLocator
{
    public static string? Find()
    {
        string? env = Environment.GetEnvironmentVariable("ACCEL_PTXAS");
        if (!string.IsNullOrEmpty(env))
        {
            return File.Exists(env) ? env : null;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, ".tools", "ptxas", "bin", "ptxas");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (string part in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(part, "ptxas");
            if (part.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
