using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Modal.Integration.Tests;

/// <summary>
/// A standalone control plane (<c>Modal.Server.dll</c>) in its own process on a loopback port. It can be SIGKILLed
/// (<see cref="Kill"/>) and started again on the same port (<see cref="RestartAsync"/>); worker processes it leaves
/// behind are ended when it is disposed.
/// </summary>
public sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly int _port;
    private readonly string[] _arguments;
    private readonly List<int> _orphans = [];

    private ServerProcess(Process process, string url, int port, string[] arguments)
    {
        _process = process;
        Url = url;
        _port = port;
        _arguments = arguments;
    }

    /// <summary>The server's URL.</summary>
    public string Url { get; }

    /// <summary>The loopback port it listens on.</summary>
    public int Port => _port;

    /// <summary>The server process's id.</summary>
    public int Pid => _process.Id;

    /// <summary>Starts the server on a free port and waits until it listens.</summary>
    public static Task<ServerProcess> StartAsync(params string[] extraArguments) => StartOnPortAsync(0, extraArguments);

    /// <summary>A loopback port that nothing listens on now: one the system just handed out and took back.</summary>
    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>
    /// Kills the server process alone with SIGKILL, as a crash would. The worker processes it started live on until
    /// this object is disposed.
    /// </summary>
    public void Kill()
    {
        _orphans.AddRange(Descendants(_process.Id));
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>Starts the server again on the same port with the same arguments (and so the same database).</summary>
    public Task<ServerProcess> RestartAsync() => StartOnPortAsync(_port, _arguments);

    /// <summary>Starts the server on a free port without the test token, so that it creates its own admin token.</summary>
    public static Task<ServerProcess> StartWithoutTestTokenAsync(params string[] extraArguments) =>
        StartOnPortAsync(0, extraArguments, withTestToken: false);

    /// <summary>The folders under the temporary directory that the tests' workers may write (markers the tests look for).</summary>
    public static readonly IReadOnlyList<string> SharedScratch =
        [.. new[] { "modal-integration", "modal-conformance", "modal-conformance-attempts", "modal-ride-through" }.Select(name => Path.Combine(Path.GetTempPath(), name))];

    static ServerProcess() => TestToken.EnsureSet();

    /// <summary>A variable only the server's own environment has: its workers must not see it.</summary>
    public const string ServerOnlyVariable = "MODAL_TEST_SERVER_ONLY_SECRET";

    /// <summary>What the server printed so far (its URL line, the admin token file, warnings).</summary>
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

    private System.Text.StringBuilder _output = new();

    /// <summary>Starts the server on <paramref name="port"/> (0: a free one) and waits until it listens.</summary>
    public static Task<ServerProcess> StartOnPortAsync(int port, params string[] extraArguments) =>
        StartOnPortAsync(port, extraArguments, withTestToken: true);

    private static async Task<ServerProcess> StartOnPortAsync(int port, string[] extraArguments, bool withTestToken)
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
        start.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var argument in extraArguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment.Remove("MODAL_SERVER_URL");
        start.Environment.Remove("MODAL_WORKER");
        start.Environment[ServerOnlyVariable] = "the server's own secret";
        // The scratch folders where the tests' functions leave markers for the tests to see: shared with the sandboxed
        // workers on purpose (everything else of the host is read-only or hidden to them).
        foreach (string scratch in SharedScratch)
        {
            Directory.CreateDirectory(scratch);
            start.ArgumentList.Add("--worker-bind");
            start.ArgumentList.Add(scratch);
        }
        if (withTestToken && !extraArguments.Contains("--token-id"))
        {
            start.ArgumentList.Add("--token-id");
            start.ArgumentList.Add(TestToken.Id);
            start.ArgumentList.Add("--token-secret");
            start.ArgumentList.Add(TestToken.Secret);
        }
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
        var listening = await url.Task;
        return new ServerProcess(process, listening, port == 0 ? new Uri(listening).Port : port, extraArguments) { _output = output };
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
        foreach (var pid in _orphans)
        {
            try
            {
                using var orphan = Process.GetProcessById(pid);
                // A worker of this server, not a process that reused its id since.
                if (File.ReadAllText($"/proc/{pid}/cmdline").Contains("Modal.", StringComparison.Ordinal))
                {
                    orphan.Kill(entireProcessTree: true);
                    await orphan.WaitForExitAsync();
                }
            }
            catch (Exception exception) when (exception is ArgumentException or InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                // It exited already.
            }
        }
    }

    /// <summary>The ids of a process's descendants, from <c>/proc</c> (Linux).</summary>
    private static List<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing parenthesis.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var parent = int.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture);
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }
                list.Add(pid);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // The process ended meanwhile.
            }
        }
        var found = new List<int>();
        var pending = new Queue<int>([root]);
        while (pending.TryDequeue(out var parent))
        {
            foreach (var child in children.GetValueOrDefault(parent) ?? [])
            {
                found.Add(child);
                pending.Enqueue(child);
            }
        }
        return found;
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

/// <summary>
/// The admin token every standalone server of this test process is started with (a standalone server always requires
/// one). It is also put in this process's MODAL_TOKEN_ID and MODAL_TOKEN_SECRET, so that apps and the client processes
/// the tests start present it without being told.
/// </summary>
public static class TestToken
{
    /// <summary>The token id.</summary>
    public static readonly string Id = "tk-test" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>The token secret.</summary>
    public static readonly string Secret = "ts-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));

    static TestToken()
    {
        Environment.SetEnvironmentVariable("MODAL_TOKEN_ID", Id);
        Environment.SetEnvironmentVariable("MODAL_TOKEN_SECRET", Secret);
    }

    /// <summary>Makes sure the variables are set (touching the class runs its initializer).</summary>
    public static void EnsureSet() => _ = Id;

    /// <summary>The token as request headers, for tests that talk gRPC to a server without the client library.</summary>
    public static Grpc.Core.Metadata Headers() => new() { { "x-modal-token-id", Id }, { "x-modal-token-secret", Secret } };
}
