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
}
