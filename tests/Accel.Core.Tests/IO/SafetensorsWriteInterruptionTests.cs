using Accel.Errors;
using Accel.IO;
using Accel.Types;

namespace Accel.Core.Tests.IO;

/// <summary>
/// A write that is cancelled or fails at any point after its temporary file exists deletes that
/// file and leaves the file already at the destination byte for byte as it was.
/// </summary>
[TestFixture]
public sealed class SafetensorsWriteInterruptionTests : SafetensorsTestBase
{
    /// <summary>How the write is interrupted once <c>after</c> bytes have reached the temporary file.</summary>
    public enum Interruption
    {
        /// <summary>The cancellation token is cancelled (Ctrl-C).</summary>
        Cancel,
        /// <summary>The disk fails (an <see cref="IOException"/>).</summary>
        DiskError,
        /// <summary>Some other exception escapes the stream.</summary>
        Crash,
    }

    private static readonly byte[] OldOutput = "the output of an earlier run"u8.ToArray();

    /// <summary>A tensor larger than one write chunk, so a cancel can land between two chunks of it.</summary>
    private static readonly HostTensor Big = Make(DType.U8, [SafetensorsWriter.ChunkBytes + 1000]);

    private static readonly HostTensor Small = Make(DType.F32, [3, 5]);

    private string Output => Path.Combine(Dir, "out.safetensors");

    private static long TotalBytes => SafetensorsWriter.Serialize(Tensors()).Length;

    private static IEnumerable<KeyValuePair<string, HostTensor>> Tensors() => [Pair("small", Small), Pair("big", Big)];

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (Interruption how in Enum.GetValues<Interruption>())
        {
            yield return new TestCaseData(how, 0L).SetArgDisplayNames($"{how} before the first byte");
            yield return new TestCaseData(how, 8L).SetArgDisplayNames($"{how} after the length prefix");
            yield return new TestCaseData(how, SafetensorsWriter.ChunkBytes / 2L).SetArgDisplayNames($"{how} inside the big tensor");
            yield return new TestCaseData(how, TotalBytes).SetArgDisplayNames($"{how} after the last byte");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void An_interrupted_write_leaves_the_old_output_and_no_temporary_file(Interruption how, long after)
    {
        File.WriteAllBytes(Output, OldOutput);
        using var cancel = new CancellationTokenSource();
        string? temp = null;
        Stream Create(string path)
        {
            temp = path;
            return new InterruptingStream(new FileStream(path, FileMode.CreateNew), after, how, cancel);
        }

        Exception? error = Catch(() => SafetensorsWriter.Write(Output, Tensors(), null, cancel.Token, Create));

        // A disk error after the last byte surfaces when the stream is flushed; a cancel after the
        // last byte is caught just before the move. Either way nothing reaches the destination.
        Type expected = how switch
        {
            Interruption.Cancel => typeof(OperationCanceledException),
            Interruption.DiskError => typeof(SafetensorsException),
            _ => typeof(InvalidOperationException),
        };
        Assert.That(error, Is.InstanceOf(expected), error?.ToString());
        Assert.That(temp, Is.Not.Null, "the temporary file was never created");
        Assert.That(File.Exists(temp), Is.False, "the temporary file was left behind");
        Assert.That(File.ReadAllBytes(Output), Is.EqualTo(OldOutput), "the old output was changed");
        Assert.That(Directory.GetFiles(Dir), Is.EqualTo(new[] { Output }));
    }

    [Test]
    public void A_write_cancelled_before_it_starts_creates_no_file()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() => SafetensorsWriter.Write(Output, Tensors(), cancellationToken: cancel.Token));
        Assert.That(Directory.GetFiles(Dir), Is.Empty);
    }

    [Test]
    public void A_move_onto_a_folder_fails_cleanly()
    {
        Directory.CreateDirectory(Output);
        var ex = Assert.Throws<SafetensorsException>(() => SafetensorsWriter.Write(Output, Tensors()))!;
        Assert.That(ex.Message, Does.Contain("could not be written"));
        Assert.That(Directory.GetFiles(Dir), Is.Empty);
    }

    [Test]
    public void An_uninterrupted_write_replaces_the_old_output_whole()
    {
        File.WriteAllBytes(Output, OldOutput);
        using var cancel = new CancellationTokenSource();
        SafetensorsWriter.Write(Output, Tensors(), cancellationToken: cancel.Token);
        Assert.That(File.ReadAllBytes(Output), Is.EqualTo(SafetensorsWriter.Serialize(Tensors())));
        Assert.That(Directory.GetFiles(Dir), Is.EqualTo(new[] { Output }));
    }

    private static Exception? Catch(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>A file stream that interrupts the write once <c>after</c> bytes have been written.</summary>
    private sealed class InterruptingStream(FileStream inner, long after, Interruption how, CancellationTokenSource cancel) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Interrupt();
            inner.Write(buffer);
            _written += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
            Interrupt();
            inner.Flush();
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                try
                {
                    Interrupt();
                }
                finally
                {
                    inner.Dispose();
                }
            }

            base.Dispose(disposing);
        }

        private void Interrupt()
        {
            if (_written < after)
            {
                return;
            }

            switch (how)
            {
                case Interruption.Cancel:
                    cancel.Cancel();
                    break;
                case Interruption.DiskError:
                    throw new IOException("No space left on device");
                default:
                    throw new InvalidOperationException("a failure inside the stream");
            }
        }
    }
}
