using System.Diagnostics;

namespace Modal.Reliability.Tests;

/// <summary>What a map yielded before it ended, how it ended, and how long it took.</summary>
public sealed record MapRun<T>(IReadOnlyList<T> Outputs, Exception? Failure, TimeSpan Elapsed)
{
    /// <summary>One line for assertion messages.</summary>
    public string Describe(int expected)
        => Failure is null
            ? $"{Outputs.Count} of {expected} outputs in {Elapsed.TotalSeconds:0.0} s"
            : $"failed after {Outputs.Count} of {expected} outputs in {Elapsed.TotalSeconds:0.0} s: {Failure}";
}

/// <summary>Runs maps to the end within a time limit, keeping what they yielded and how they failed.</summary>
public static class MapRun
{
    /// <summary>
    /// Consumes the map that <paramref name="start"/> returns (given a token cancelled at <paramref name="limit"/>);
    /// <paramref name="onOutput"/> runs after each output with the number received so far.
    /// </summary>
    public static async Task<MapRun<T>> CollectAsync<T>(
        Func<CancellationToken, IAsyncEnumerable<T>> start, TimeSpan limit, Func<int, Task>? onOutput = null)
    {
        using var timeout = new CancellationTokenSource(limit);
        var outputs = new List<T>();
        var clock = Stopwatch.StartNew();
        try
        {
            await foreach (var output in start(timeout.Token).WithCancellation(timeout.Token))
            {
                outputs.Add(output);
                if (onOutput is not null)
                {
                    await onOutput(outputs.Count);
                }
            }
            return new MapRun<T>(outputs, null, clock.Elapsed);
        }
        catch (OperationCanceledException exception) when (timeout.IsCancellationRequested)
        {
            return new MapRun<T>(outputs, new TimeoutException($"The map did not finish within {limit.TotalSeconds} s.", exception), clock.Elapsed);
        }
        catch (Exception exception)
        {
            return new MapRun<T>(outputs, exception, clock.Elapsed);
        }
    }
}
