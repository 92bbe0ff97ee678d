[assembly: Modal.ModalApp("integration")]

namespace Modal.Integration;

/// <summary>Functions whose behaviour the integration tests observe from outside their worker processes.</summary>
public static partial class IntegrationFunctions
{
    /// <summary>The container that runs this code, as the launcher named it.</summary>
    public static string ContainerId => Environment.GetEnvironmentVariable("MODAL_CONTAINER_ID") ?? $"pid-{Environment.ProcessId}";

    /// <summary>Writes a marker with this process's id, then works for a long time: the test kills the process meanwhile.</summary>
    [Function(MaxContainers = 2)]
    public static async Task<string> SurviveKill(string markerDirectory, CancellationToken cancellationToken)
    {
        // Named after the container: a sandboxed worker's process id is its own namespace's, the same in every worker.
        var marker = Path.Combine(markerDirectory, $"{ContainerId}.pid");
        var first = Directory.GetFiles(markerDirectory, "*.pid").Length == 0;
        await File.WriteAllTextAsync(marker, ContainerId, cancellationToken);
        if (first)
        {
            await Task.Delay(TimeSpan.FromMinutes(5), cancellationToken);
        }
        return ContainerId;
    }

    /// <summary>Sleeps without looking at any token, then names its container.</summary>
    [Function(TimeoutSeconds = 2, MaxContainers = 1)]
    public static string SleepIgnoringToken(int milliseconds)
    {
        Thread.Sleep(milliseconds);
        return ContainerId;
    }

    /// <summary>Writes a marker, then waits until cancelled, and writes a second marker when its token fires.</summary>
    [Function]
    public static async Task<int> WaitUntilCancelled(string markerPath, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.Register(() => File.WriteAllText(markerPath + ".cancelled", ContainerId));
        await File.WriteAllTextAsync(markerPath, ContainerId, cancellationToken);
        await Task.Delay(TimeSpan.FromMinutes(5), cancellationToken);
        return 0;
    }

    /// <summary>Names its container after a short pause, so that a map needs several at once.</summary>
    [Function(MaxContainers = 2, MaxInputs = 4)]
    public static async Task<string> WhichContainer(int milliseconds, CancellationToken cancellationToken)
    {
        await Task.Delay(milliseconds, cancellationToken);
        return ContainerId;
    }

    /// <summary>Names its container; idle containers go away after two seconds.</summary>
    [Function(ScaledownWindowSeconds = 2)]
    public static string ShortLived(int x) => $"{x}:{ContainerId}";

    /// <summary>Returns its argument after a pause, so that a map of a few hundred inputs lasts a few seconds.</summary>
    [Function(MaxContainers = 2, MaxInputs = 4)]
    public static async Task<int> SlowIdentity(int x, CancellationToken cancellationToken)
    {
        await Task.Delay(40, cancellationToken);
        return x;
    }

    /// <summary>Returns its argument.</summary>
    [Function]
    public static byte[] EchoBytes(byte[] data) => data;

    /// <summary>The value of an environment variable in the worker.</summary>
    [Function]
    public static string? Variable(string name) => Environment.GetEnvironmentVariable(name);

    /// <summary>
    /// Three times its argument, many at once per container: the target of a spawned map of 100,000 inputs. The input equal to
    /// <paramref name="slowInput"/> takes 8 s, so that the map is still running when the process that spawned it has exited.
    /// </summary>
    [Function(MaxContainers = 2, MaxInputs = 256)]
    public static async Task<long> Triple(int x, int slowInput, CancellationToken cancellationToken)
    {
        if (x == slowInput)
        {
            await Task.Delay(TimeSpan.FromSeconds(8), cancellationToken);
        }
        return 3L * x;
    }

    /// <summary>Adds after a pause; spawned, then fetched from a second process.</summary>
    [Function]
    public static async Task<int> SlowAdd(int left, int right, CancellationToken cancellationToken)
    {
        await Task.Delay(200, cancellationToken);
        return left + right;
    }

    /// <summary>Prints to stdout and stderr.</summary>
    [Function]
    public static int Chatty(int lines)
    {
        for (var i = 0; i < lines; i++)
        {
            Console.WriteLine($"line {i} to stdout");
            Console.Error.WriteLine($"line {i} to stderr");
        }
        return lines;
    }
}

/// <summary>Functions that probe what a worker may see and do, for the security tests.</summary>
public static partial class SecurityProbes
{
    /// <summary>This worker's own container id, token and app id, as misbehaving code in a worker could read them.</summary>
    [Function]
    public static string[] ContainerCredentials() =>
    [
        Environment.GetEnvironmentVariable("MODAL_CONTAINER_ID") ?? "",
        Environment.GetEnvironmentVariable("MODAL_CONTAINER_TOKEN") ?? "",
        Environment.GetEnvironmentVariable("MODAL_APP_ID") ?? "",
    ];

    /// <summary>What this worker sees at a path: "file:TEXT", "directory:ENTRIES", "missing" or "denied:EXCEPTION".</summary>
    [Function]
    public static string TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? "file:" + File.ReadAllText(path)
                : Directory.Exists(path) ? "directory:" + string.Join(",", Directory.GetFileSystemEntries(path).Select(Path.GetFileName))
                : "missing";
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return "denied:" + exception.GetType().Name;
        }
    }

    /// <summary>The names of this worker's environment variables, sorted.</summary>
    [Function]
    public static string[] EnvironmentNames() =>
        [.. Environment.GetEnvironmentVariables().Keys.Cast<string>().Order(StringComparer.Ordinal)];
}
