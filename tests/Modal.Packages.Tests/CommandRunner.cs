using System.Diagnostics;
using System.Text;

namespace Modal.Packages.Tests;

/// <summary>Runs a command to its end, with the test's MSBuild and Modal environment removed, and keeps its output.</summary>
internal static class CommandRunner
{
    /// <summary>What a finished command printed (stdout and stderr, interleaved as they arrived) and its exit code.</summary>
    public sealed record Result(int ExitCode, string Output);

    public static async Task<Result> RunAsync(
        string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        using var process = new Process { StartInfo = StartInfo(fileName, arguments, workingDirectory, environment) };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            lock (output)
            {
                throw new TimeoutException($"'{fileName} {string.Join(' ', arguments)}' did not finish within {timeout}. Its output:\n{output}");
            }
        }
        process.WaitForExit();
        lock (output)
        {
            return new Result(process.ExitCode, output.ToString());
        }
    }

    /// <summary>Runs a command that must succeed; throws with its output otherwise.</summary>
    public static async Task<string> RunCheckedAsync(
        string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var argumentList = arguments.ToList();
        var result = await RunAsync(fileName, argumentList, workingDirectory, timeout, environment);
        Assert.True(result.ExitCode == 0,
            $"'{fileName} {string.Join(' ', argumentList)}' in {workingDirectory} exited with {result.ExitCode}. Its output:\n{result.Output}");
        return result.Output;
    }

    /// <summary>
    /// A start info whose environment holds none of the variables `dotnet test` and MSBuild set for their own children
    /// (they would make a nested `dotnet build` use the test's MSBuild) and no MODAL_ settings of the developer's.
    /// </summary>
    public static ProcessStartInfo StartInfo(
        string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in start.Environment.Keys.ToList())
        {
            if (name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || name.StartsWith("MODAL_", StringComparison.Ordinal)
                || name.StartsWith("VSTEST", StringComparison.Ordinal) || name == "DOTNET_HOST_PATH")
            {
                start.Environment.Remove(name);
            }
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        return start;
    }
}
