using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Modal.Integration.Tests;

namespace Modal.Reliability.Tests;

/// <summary>
/// A standalone control plane (<c>Modal.Server.dll</c>) in its own process on a fixed loopback port, with its store and
/// blobs in a directory of its own, that a test can SIGKILL and start again on the same port and files. Disposing
/// kills it and every worker process it started, including workers orphaned by a kill.
/// </summary>
public sealed class ControlPlaneProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_startLimit = TimeSpan.FromSeconds(60);

    private readonly string _directory;
    private readonly List<ProcessEntry> _orphans = [];
    private readonly StringBuilder _output = new();
    private Process? _process;

    private readonly IReadOnlyList<string> _arguments;

    private ControlPlaneProcess(int port, string directory, bool useDatabaseFile, IReadOnlyList<string> arguments)
    {
        Port = port;
        _directory = directory;
        DatabasePath = useDatabaseFile ? Path.Combine(directory, "modal.db") : null;
        _arguments = arguments;
    }

    /// <summary>The loopback port, the same across restarts.</summary>
    public int Port { get; }

    /// <summary>The URL callers use.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The SQLite file, or null for an in-memory store.</summary>
    public string? DatabasePath { get; }

    /// <summary>The server process's id.</summary>
    public int Pid => _process?.Id ?? throw new InvalidOperationException("The control plane is not running.");

    /// <summary>Everything the server printed so far (all its runs), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// The last <paramref name="lines"/> lines the server printed, for failure messages; everything it printed is saved to a
    /// file kept after the test (its path is the first line).
    /// </summary>
    public string OutputTail(int lines)
    {
        var output = Output;
        var saved = Path.Combine(Path.GetTempPath(), "modal-reliability-logs", $"server-{Port}-{DateTime.UtcNow:HHmmss}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(saved)!);
        File.WriteAllText(saved, output);
        return $"(all of it in {saved})\n" + string.Join('\n', output.Split('\n').TakeLast(lines));
    }

    /// <summary>
    /// Starts a control plane on a free port; with <paramref name="useDatabaseFile"/> its store is a SQLite file;
    /// <paramref name="arguments"/> are added to its command line (for example <c>--capacity-cpu 0.5</c>).
    /// </summary>
    public static async Task<ControlPlaneProcess> StartAsync(bool useDatabaseFile = true, IReadOnlyList<string>? arguments = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "modal-reliability", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var server = new ControlPlaneProcess(FreePort(), directory, useDatabaseFile, arguments ?? []);
        try
        {
            await server.RestartAsync();
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    /// <summary>
    /// SIGKILLs the server (a crash: nothing is flushed or stopped); its worker processes live on as orphans until they
    /// notice, and are killed when this is disposed if they have not exited by then.
    /// </summary>
    public async Task KillAsync()
    {
        var process = _process ?? throw new InvalidOperationException("The control plane is not running.");
        _orphans.AddRange(ProcessTree.Descendants(process.Id));
        process.Kill(entireProcessTree: false);
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        process.Dispose();
        _process = null;
    }

    /// <summary>Starts the server (again) on the same port, store and blobs, and waits until it listens.</summary>
    public async Task RestartAsync()
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("The control plane is already running.");
        }
        var deadline = DateTime.UtcNow + s_startLimit;
        while (true)
        {
            var (process, listening) = Launch();
            var finished = await Task.WhenAny(listening, Task.Delay(s_startLimit));
            if (finished == listening && await listening)
            {
                _process = process;
                return;
            }
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            await process.WaitForExitAsync();
            process.Dispose();
            // The port may still be held for a moment after a crash; try again until the limit.
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The control plane did not listen on port {Port} within {s_startLimit.TotalSeconds} s. Output:\n{Output}");
            }
            await Task.Delay(500);
        }
    }

    private (Process Process, Task<bool> Listening) Launch()
    {
        var dll = ServerProcess.FindServerAssembly();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--blobs", Path.Combine(_directory, "blobs"),
            "--token-id", TestToken.Id, "--token-secret", TestToken.Secret,
        })
        {
            start.ArgumentList.Add(argument);
        }
        if (DatabasePath is not null)
        {
            start.ArgumentList.Add("--db");
            start.ArgumentList.Add(DatabasePath);
        }
        foreach (var argument in _arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment.Remove("MODAL_SERVER_URL");
        start.Environment.Remove("MODAL_WORKER");
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var listening = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                listening.TrySetResult(false);
                return;
            }
            Append(e.Data);
            if (e.Data.Contains("listening on", StringComparison.OrdinalIgnoreCase))
            {
                listening.TrySetResult(true);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Append(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, listening.Task);
    }

    private void Append(string line)
    {
        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            _orphans.AddRange(ProcessTree.Descendants(process.Id));
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            process.Dispose();
            _process = null;
        }
        foreach (var orphan in _orphans)
        {
            Signals.Send(orphan, Signals.Kill);
        }
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A worker killed a moment ago may still hold a file; the directory is under the temporary folder.
        }
    }
}
