using System.Collections.Concurrent;

[assembly: Modal.ModalApp("conformance")]

namespace Modal.Conformance;

/// <summary>Unary functions the conformance suite calls, one behaviour each.</summary>
public static partial class TestFunctions
{
    private static readonly ConcurrentDictionary<string, string> s_timeouts = new(StringComparer.Ordinal);

    [Function]
    public static int Square(int x) => x * x;

    [Function(Name = "add")]
    public static async Task<int> Add(int left, int right, CancellationToken cancellationToken)
    {
        await Task.Yield();
        cancellationToken.ThrowIfCancellationRequested();
        return left + right;
    }

    /// <summary>Returns <paramref name="value"/> after <paramref name="delayMs"/>, to make completion order differ from input order.</summary>
    [Function]
    public static async Task<int> DelayedEcho(int value, int delayMs, CancellationToken cancellationToken)
    {
        await Task.Delay(delayMs, cancellationToken);
        return value;
    }

    [Function]
    public static string? Echo(string? text) => text;

    [Function]
    public static Person Birthday(Person person) => person with { Age = person.Age + 1, Tags = [.. person.Tags, "older"] };

    [Function]
    public static int Explode(string message) => throw new InvalidOperationException(message);

    [Function]
    public static int CheckPositive(int x)
        => x >= 0 ? x : throw new ArgumentOutOfRangeException(nameof(x), x, "The value must not be negative.");

    /// <summary>A function without a result: creates the file <paramref name="name"/> in <paramref name="directory"/>.</summary>
    [Function]
    public static void Touch(string directory, string name) => File.WriteAllText(Path.Combine(directory, name), name);

    [Function]
    public static async Task<int> Sleep(int milliseconds, CancellationToken cancellationToken)
    {
        await Task.Delay(milliseconds, cancellationToken);
        return milliseconds;
    }

    /// <summary>Calls <see cref="Square"/> remotely from inside an input, so the call graph has a child.</summary>
    [Function]
    public static async Task<int> Parent(int x, CancellationToken cancellationToken)
        => await Functions.Square.RemoteAsync(x, cancellationToken) + 1;

    /// <summary>
    /// Counts the attempts of one key in a file, not in memory: in worker modes a retry may run in another container
    /// (process). Attempts of one input never overlap, so appending and measuring is enough.
    /// </summary>
    private static int CountAttempt(string key)
    {
        var directory = Path.Combine(Path.GetTempPath(), "modal-conformance-attempts");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, key);
        File.AppendAllText(path, "x");
        return (int)new FileInfo(path).Length;
    }

    /// <summary>Fails its first <paramref name="failures"/> attempts for <paramref name="key"/>, then returns the attempt number.</summary>
    [Function]
    [Retries(MaxRetries = 2, InitialDelayMs = 10, BackoffCoefficient = 2.0, MaxDelayMs = 1000)]
    public static int Flaky(string key, int failures)
    {
        int attempt = CountAttempt(key);
        return attempt <= failures
            ? throw new InvalidOperationException($"Attempt {attempt} for '{key}' fails on purpose.")
            : attempt;
    }

    /// <summary>
    /// With <paramref name="report"/> false, waits on its token until the timeout cancels it and records that under
    /// <paramref name="key"/>; with <paramref name="report"/> true, returns what was recorded (one container, so the
    /// record is there in every mode).
    /// </summary>
    [Function(TimeoutSeconds = 1, MaxContainers = 1, MaxInputs = 4)]
    public static async Task<string> TimeoutProbe(string key, bool report, CancellationToken cancellationToken)
    {
        if (report)
        {
            return s_timeouts.GetValueOrDefault(key, "nothing recorded");
        }
        s_timeouts[key] = "started";
        using var registration = cancellationToken.Register(() => s_timeouts[key] = "cancelled");
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return "not cancelled";
    }

    /// <summary>Ignores the timeout (it takes no token) and sleeps past it.</summary>
    [Function(TimeoutSeconds = 1)]
    public static async Task<int> IgnoresTimeout(int milliseconds)
    {
        await Task.Delay(milliseconds);
        return milliseconds;
    }

    /// <summary>Busy for <paramref name="milliseconds"/>; returns its start and end (UTC ticks) to measure overlap.</summary>
    [Function(MaxContainers = 2, MaxInputs = 2)]
    public static async Task<long[]> Occupy(int milliseconds, CancellationToken cancellationToken)
    {
        long start = DateTime.UtcNow.Ticks;
        await Task.Delay(milliseconds, cancellationToken);
        return [start, DateTime.UtcNow.Ticks];
    }

    /// <summary>Holds its only runner, so that further inputs wait in the backlog.</summary>
    [Function(MaxContainers = 1)]
    public static Task Hold(int milliseconds, CancellationToken cancellationToken) => Task.Delay(milliseconds, cancellationToken);

    /// <summary>The value of an environment variable in the process that runs the input (MODAL_CONTAINER_ID names its container).</summary>
    [Function]
    public static string? Variable(string name) => Environment.GetEnvironmentVariable(name);

    /// <summary>Keeps no state; a target for <c>KeepWarmAsync</c> that no other test uses.</summary>
    [Function]
    public static int Warmable(int x) => x;

    /// <summary>
    /// Records the start of every attempt (UTC ticks) in <paramref name="directory"/> and fails the first
    /// <paramref name="failures"/>; returns the starts of all attempts. Backoff 200 ms, then 400 ms.
    /// </summary>
    [Function]
    [Retries(MaxRetries = 2, BackoffCoefficient = 2.0, InitialDelayMs = 200, MaxDelayMs = 1000)]
    public static long[] BackoffProbe(string directory, int failures) => RecordAttempt(directory, failures);

    /// <summary>Like <see cref="BackoffProbe"/> with one container and a long backoff (1.5 s): one input at a time.</summary>
    [Function(MaxContainers = 1)]
    [Retries(MaxRetries = 1, InitialDelayMs = 1500, MaxDelayMs = 1500)]
    public static long[] SlowRetry(string directory, int failures) => RecordAttempt(directory, failures);

    /// <summary>Its first attempt waits on its token until the 1 s timeout; its retry returns the starts of both attempts.</summary>
    [Function(TimeoutSeconds = 1)]
    [Retries(MaxRetries = 1, InitialDelayMs = 0, MaxDelayMs = 1000)]
    public static async Task<long[]> TimesOutOnce(string directory, CancellationToken cancellationToken)
    {
        var attempts = RecordAttempt(directory, failures: 0);
        if (attempts.Length == 1)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        return attempts;
    }

    /// <summary>Writes "started" to <paramref name="path"/>, then waits on its token and writes "cancelled" when it fires.</summary>
    [Function]
    public static async Task<string> AwaitCancellation(string path, CancellationToken cancellationToken)
    {
        await File.WriteAllTextAsync(path, "started", CancellationToken.None);
        using var registration = cancellationToken.Register(() => File.WriteAllText(path, "cancelled"));
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return "not cancelled";
    }

    /// <summary>Sleeps, then returns when it finished (UTC ticks); up to 1000 inputs at once in one container.</summary>
    [Function(MaxContainers = 1, MaxInputs = 1000)]
    public static async Task<long> Nap(int milliseconds, CancellationToken cancellationToken)
    {
        await Task.Delay(milliseconds, cancellationToken);
        return DateTime.UtcNow.Ticks;
    }

    /// <summary>Maps <see cref="Square"/> over 0..n-1 from inside an input and returns the sum.</summary>
    [Function]
    public static async Task<long> SumOfSquares(int n, CancellationToken cancellationToken)
    {
        long sum = 0;
        await foreach (var square in Functions.Square.Map(Enumerable.Range(0, n), cancellationToken: cancellationToken))
        {
            sum += square;
        }
        return sum;
    }

    private static long[] RecordAttempt(string directory, int failures)
    {
        var path = Path.Combine(directory, "attempts");
        File.AppendAllText(path, DateTime.UtcNow.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture) + Environment.NewLine);
        var attempts = File.ReadAllLines(path).Select(line => long.Parse(line, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return attempts.Length <= failures
            ? throw new InvalidOperationException($"Attempt {attempts.Length} fails on purpose.")
            : attempts;
    }
}
