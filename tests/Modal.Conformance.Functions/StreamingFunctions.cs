using System.Runtime.CompilerServices;

namespace Modal.Conformance;

/// <summary>Generator and batched functions the conformance suite calls.</summary>
public static partial class StreamingFunctions
{
    [Function]
    public static async IAsyncEnumerable<int> Count(int n, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int i = 0; i < n; i++)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return i;
        }
    }

    /// <summary>Yields the time (UTC ticks) each item was produced, <paramref name="gapMs"/> apart.</summary>
    [Function]
    public static async IAsyncEnumerable<long> Timed(int n, int gapMs, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int i = 0; i < n; i++)
        {
            if (i > 0)
            {
                await Task.Delay(gapMs, cancellationToken);
            }
            yield return DateTime.UtcNow.Ticks;
        }
    }

    /// <summary>Yields <paramref name="n"/> items, then throws.</summary>
    [Function]
    public static async IAsyncEnumerable<int> CountThenFail(int n)
    {
        for (int i = 0; i < n; i++)
        {
            await Task.Yield();
            yield return i;
        }
        throw new InvalidOperationException($"Failed after {n} items.");
    }

    /// <summary>Fails the whole batch when any input is negative.</summary>
    [Function, Batched(MaxBatchSize = 10, WaitMs = 200)]
    public static IReadOnlyList<int> RejectNegatives(IReadOnlyList<int> xs)
        => xs.Any(x => x < 0) ? throw new ArgumentException("The batch holds a negative input.", nameof(xs)) : xs;

    [Function, Batched(MaxBatchSize = 16, WaitMs = 50)]
    public static IReadOnlyList<int> Double(IReadOnlyList<int> xs) => xs.Select(x => 2 * x).ToList();

    /// <summary>Answers every input with the size of the batch it arrived in.</summary>
    [Function, Batched(MaxBatchSize = 10, WaitMs = 200)]
    public static Task<IReadOnlyList<int>> BatchSizes(IReadOnlyList<int> xs)
        => Task.FromResult<IReadOnlyList<int>>(xs.Select(_ => xs.Count).ToList());
}
