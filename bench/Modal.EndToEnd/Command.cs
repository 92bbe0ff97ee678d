using System.Diagnostics;

namespace Modal.EndToEnd;

/// <summary>Runs a program to its exit with its output captured, as the cold-start mode's bare starts, publishes and deploy do.</summary>
internal static class Command
{
    /// <summary>How a run ended: its exit code, what it wrote, and the milliseconds from process start to exit.</summary>
    public sealed record Result(int ExitCode, string Output, string Errors, double ElapsedMs);

    /// <summary>
    /// Starts <paramref name="file"/>, waits for it to exit (killing it with its children after <paramref name="timeout"/>),
    /// and returns how it ended. <paramref name="environment"/> sets variables, or removes those whose value is null.
    /// </summary>
    public static async Task<Result> RunAsync(string file, IEnumerable<string> arguments, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }
        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{file} {string.Join(' ', start.ArgumentList)}' did not exit within {timeout.TotalSeconds:0} s.");
        }
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return new Result(process.ExitCode, await output, await errors, elapsed);
    }
}
