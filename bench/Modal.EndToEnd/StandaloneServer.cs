using System.Diagnostics;

namespace Modal.EndToEnd;

/// <summary>
/// With <c>--db</c>: the standalone control plane (<c>Modal.Server.dll</c>, copied beside this runner because the runtime
/// references it) in its own process on a free loopback port, on the given database: a SQLite file, or a PostgreSQL
/// URL, for which several replicas may run. The runner then calls them in Remote mode, as an app does through
/// <c>MODAL_SERVER_URL</c> (a comma-separated list of replicas).
/// </summary>
internal sealed class StandaloneServer : IAsyncDisposable
{
    private const string ListeningPrefix = "Modal control plane listening on ";
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;

    private StandaloneServer(Process process, string url)
    {
        _process = process;
        Url = url;
    }

    /// <summary>The server's URL, as it printed it.</summary>
    public string Url { get; }

    /// <summary>
    /// Starts <paramref name="replicas"/> servers on <paramref name="database"/> (several only on PostgreSQL), each on its
    /// own port with this run's token, and waits until each listens; <see cref="Replicas.Url"/> lists them all.
    /// <paramref name="arguments"/> go to every server's command line as they are (<c>--launcher podman</c>, for example).
    /// </summary>
    public static async Task<Replicas> StartReplicasAsync(string database, int replicas, IReadOnlyList<string>? arguments = null)
    {
        // A standalone server always requires a token: this run's own, which the benchmark's app presents too.
        string tokenId = "tk-bench" + Guid.NewGuid().ToString("N")[..12];
        string tokenSecret = "ts-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        Environment.SetEnvironmentVariable("MODAL_TOKEN_ID", tokenId);
        Environment.SetEnvironmentVariable("MODAL_TOKEN_SECRET", tokenSecret);
        // Replicas share one blob directory (artifacts uploaded through one are committed and served by another).
        string blobs = Directory.CreateTempSubdirectory("modal-bench-blobs-").FullName;
        var started = new List<StandaloneServer>();
        try
        {
            for (int i = 0; i < replicas; i++)
            {
                started.Add(await StartAsync(database, blobs, tokenId, tokenSecret, arguments ?? []).ConfigureAwait(false));
            }
        }
        catch
        {
            foreach (var server in started)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
        return new Replicas(started, blobs);
    }

    /// <summary>The servers of one run; the app reaches them through the comma-separated <see cref="Url"/>.</summary>
    public sealed class Replicas(IReadOnlyList<StandaloneServer> servers, string blobDirectory) : IAsyncDisposable
    {
        public string Url { get; } = string.Join(",", servers.Select(s => s.Url));

        /// <summary>How many processes the servers have started that are still running (workers, podman clients).</summary>
        public int ChildProcessCount() => ChildProcesses.Count(servers.Select(s => s._process.Id).ToHashSet());

        public async ValueTask DisposeAsync()
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }
            Directory.Delete(blobDirectory, recursive: true);
        }
    }

    /// <summary>Starts one server on <paramref name="database"/> and waits until it listens.</summary>
    private static async Task<StandaloneServer> StartAsync(string database, string blobs, string tokenId, string tokenSecret, IReadOnlyList<string> arguments)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Modal.Server.dll");
        var start = new ProcessStartInfo(DotnetHost.Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in new[] { dll, "--port", "0", "--db", database, "--blobs", blobs, "--token-id", tokenId, "--token-secret", tokenSecret }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }
        // The server's workers get their URL from the server, not from this process's environment.
        start.Environment.Remove("MODAL_SERVER_URL");
        var process = Process.Start(start) ?? throw new InvalidOperationException($"dotnet {dll} did not start.");
        var output = new System.Text.StringBuilder();
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => Received(e.Data, listening, output);
        process.ErrorDataReceived += (_, e) => Received(e.Data, listening: null, output);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var url = await listening.Task.WaitAsync(s_startTimeout).ConfigureAwait(false);
            return new StandaloneServer(process, url);
        }
        catch (Exception exception) when (exception is TimeoutException or InvalidOperationException)
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            string text;
            lock (output)
            {
                text = output.ToString();
            }
            throw new InvalidOperationException($"The control plane on '{database}' did not start listening within {s_startTimeout.TotalSeconds:0} s. Its output:\n{text}", exception);
        }
    }

    private static void Received(string? line, TaskCompletionSource<string>? listening, System.Text.StringBuilder output)
    {
        if (line is null)
        {
            listening?.TrySetException(new InvalidOperationException("The control plane exited before it listened."));
            return;
        }
        lock (output)
        {
            output.AppendLine(line);
        }
        if (line.StartsWith(ListeningPrefix, StringComparison.Ordinal))
        {
            listening?.TrySetResult(line[ListeningPrefix.Length..].Trim().TrimEnd('/'));
        }
    }

    /// <summary>Ends the server with the workers it launched (the app has stopped by then; the database stays).</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        _process.Dispose();
    }
}
