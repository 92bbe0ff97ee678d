using System.Diagnostics;
using System.Text;

namespace Modal.Server.Launching;

/// <summary>Runs a tool (podman, buildah) to completion and captures what it prints.</summary>
internal static class ExternalCommand
{
    /// <summary>What a finished command printed, and its exit code.</summary>
    public sealed record Result(int ExitCode, string Output, string Errors)
    {
        /// <summary>The last lines of standard error (else output), for a message.</summary>
        public string Tail => string.Join(" ", (Errors.Length > 0 ? Errors : Output).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(3));
    }

    /// <summary>Runs <paramref name="tool"/>; killed (with its children) when <paramref name="timeout"/> passes.</summary>
    /// <exception cref="InvalidOperationException">The tool cannot be started (not installed), or did not finish in time.</exception>
    public static async Task<Result> RunAsync(string tool, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var startInfo = CapturedProcess.StartInfo(tool, arguments);
        var output = new StringBuilder();
        var errors = new StringBuilder();
        Process started;
        try
        {
            started = CapturedProcess.Start(startInfo, (line, isError) =>
            {
                var text = isError ? errors : output;
                lock (text)
                {
                    text.AppendLine(line);
                }
            });
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            throw new InvalidOperationException($"Could not run '{tool}': {exception.Message}. Is it installed (apt-get install {Path.GetFileName(tool)})?", exception);
        }
        using var process = started;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited in the meantime.
            }
            cancellationToken.ThrowIfCancellationRequested();
            throw new InvalidOperationException($"'{tool} {string.Join(' ', startInfo.ArgumentList.Take(2))}' did not finish within {timeout.TotalSeconds:0} s.");
        }
        // The exit is seen before the last lines of the redirected streams; this waits for them.
        process.WaitForExit();
        lock (output)
        lock (errors)
        {
            return new Result(process.ExitCode, output.ToString(), errors.ToString());
        }
    }
}
