using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Modal.Integration.Tests;

/// <summary>A standalone control plane (<c>Modal.Server.dll</c>) in its own process on a free loopback port.</summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    /// <summary>The server's URL.</summary>
    public string Url { get; }

    /// <summary>Starts the server and waits until it listens.</summary>
    public static async Task<ServerProcess> StartAsync(params string[] extraArguments)
    {
        var dll = FindServerAssembly();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--port");
        start.ArgumentList.Add("0");
        foreach (var argument in extraArguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment.Remove("MODAL_SERVER_URL");
        start.Environment.Remove("MODAL_WORKER");
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var url = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                url.TrySetException(new InvalidOperationException($"The server exited before it listened. Output:\n{output}"));
                return;
            }
            lock (output)
            {
                output.AppendLine(e.Data);
            }
            if (ListeningLine().Match(e.Data) is { Success: true } match)
            {
                url.TrySetResult(match.Groups[1].Value);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (output)
                {
                    output.AppendLine(e.Data);
                }
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var finished = await Task.WhenAny(url.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        if (finished != url.Task)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The server did not report its URL within 30 s. Output:\n{output}");
        }
        return new ServerProcess(process, await url.Task);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    /// <summary>Modal.Server.dll: MODAL_TEST_SERVER_DLL when set, else next to the tests when it was copied with its runtime config, else in the repository's build output.</summary>
    public static string FindServerAssembly()
    {
        if (Environment.GetEnvironmentVariable("MODAL_TEST_SERVER_DLL") is { Length: > 0 } configured)
        {
            return configured;
        }
        var local = Path.Combine(AppContext.BaseDirectory, "Modal.Server.dll");
        if (File.Exists(local) && File.Exists(Path.Combine(AppContext.BaseDirectory, "Modal.Server.runtimeconfig.json")))
        {
            return local;
        }
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Modal.Generators.sln")))
            {
                var built = Path.Combine(directory.FullName, "src", "Server", "bin", configuration, "net10.0", "Modal.Server.dll");
                if (File.Exists(built))
                {
                    return built;
                }
                throw new FileNotFoundException($"Build src/Server first: {built} does not exist.", built);
            }
        }
        throw new FileNotFoundException("Modal.Server.dll was not found next to the tests or in the repository.");
    }

    [GeneratedRegex(@"listening on (\S+)", RegexOptions.IgnoreCase)]
    private static partial Regex ListeningLine();
}
