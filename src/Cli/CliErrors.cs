using Accel.Errors;

namespace Accel.Cli;

/// <summary>Runs a verb and turns failures into a short message and an exit code (no stack trace).</summary>
public static class CliErrors
{
    /// <summary>Exit code for a failure the user can fix (bad input, absent device, ...).</summary>
    public const int UserError = 1;

    /// <summary>Exit code for a failure inside Accel.</summary>
    public const int InternalError = 3;

    /// <summary>Exit code for a run stopped by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;

    /// <summary>Runs <paramref name="action"/>, printing errors to standard error.</summary>
    public static int Guard(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("error: interrupted; the command stopped before writing its output, and any existing output file is unchanged.");
            return Interrupted;
        }
        catch (AccelException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return UserError;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return UserError;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"internal error: {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("ACCEL_DEBUG") == "1")
            {
                Console.Error.WriteLine(e);
            }
            else
            {
                Console.Error.WriteLine("Set ACCEL_DEBUG=1 for the stack trace, and please report it.");
            }

            return InternalError;
        }
    }
}
