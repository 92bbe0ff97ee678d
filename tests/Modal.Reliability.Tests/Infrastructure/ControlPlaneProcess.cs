using Modal.Integration.Tests;

namespace Modal.Reliability.Tests;

/// <summary>
/// A standalone control plane (a <see cref="ServerProcess"/>) that keeps its loopback port, store and blobs in a
/// directory of its own across a SIGKILL and a restart, so that a test can crash it and start it again on the same port
/// and files. Disposing kills it and every worker process it started, including workers orphaned by a kill.
/// </summary>
public sealed class ControlPlaneProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_startLimit = TimeSpan.FromSeconds(60);

    private readonly string _directory;
    private readonly List<ServerProcess> _killed = [];
    private readonly System.Text.StringBuilder _earlierOutput = new();
    private readonly IReadOnlyList<string> _arguments;
    private ServerProcess? _server;

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

    /// <summary>The SQLite file, or null for a temporary store.</summary>
    public string? DatabasePath { get; }

    /// <summary>The server process's id.</summary>
    public int Pid => Running.Pid;

    private ServerProcess Running => _server ?? throw new InvalidOperationException("The control plane is not running.");

    /// <summary>Everything the server printed so far (all its runs), for failure messages.</summary>
    public string Output => _earlierOutput + (_server?.Output ?? "");

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
        var server = new ControlPlaneProcess(ServerProcess.FreePort(), directory, useDatabaseFile, arguments ?? []);
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
    public Task KillAsync()
    {
        var server = Running;
        server.Kill();
        _earlierOutput.Append(server.Output);
        _killed.Add(server);
        _server = null;
        return Task.CompletedTask;
    }

    /// <summary>Starts the server (again) on the same port, store and blobs, and waits until it listens.</summary>
    public async Task RestartAsync()
    {
        if (_server is not null)
        {
            throw new InvalidOperationException("The control plane is already running.");
        }
        string[] arguments = DatabasePath is null
            ? ["--blobs", Path.Combine(_directory, "blobs"), .. _arguments]
            : ["--blobs", Path.Combine(_directory, "blobs"), "--db", DatabasePath, .. _arguments];
        var deadline = DateTime.UtcNow + s_startLimit;
        while (true)
        {
            try
            {
                _server = await ServerProcess.StartOnPortAsync(Port, arguments);
                return;
            }
            catch (Exception exception) when (exception is InvalidOperationException or TimeoutException && DateTime.UtcNow < deadline)
            {
                // The port may still be held for a moment after a crash; try again until the limit.
                _earlierOutput.AppendLine(exception.Message);
                await Task.Delay(500);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_server is { } server)
        {
            await server.DisposeAsync();
            _server = null;
        }
        foreach (var killed in _killed)
        {
            await killed.DisposeAsync();
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
