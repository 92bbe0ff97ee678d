using Grpc.Core;

namespace Modal;

/// <summary>
/// The retries of one logical request (or one stream) against an unreachable control plane: exponential backoff with
/// jitter from 50 ms to 2 s, failing over at once to another replica that answers, until the connection's retry
/// window since the first failure is spent; then the failure surfaces. A stream that makes progress starts afresh
/// (<see cref="Reset"/>).
/// </summary>
internal sealed class RetryBudget(GrpcConnection connection)
{
    private long _firstFailure;
    private int _failures;

    /// <summary>Failures since the budget was created or last reset.</summary>
    public int Failures => _failures;

    /// <summary>
    /// Records a transient failure on <paramref name="endpoint"/> and waits before the next try (not at all when another
    /// replica is healthy). Throws the failure, as the exception a caller sees, when the retry window is spent.
    /// </summary>
    public async Task WaitAsync(RpcException failure, GrpcEndpoint endpoint, CancellationToken cancellationToken)
    {
        endpoint.MarkFailed();
        var time = connection.Time;
        var now = time.GetTimestamp();
        if (_failures++ == 0)
        {
            _firstFailure = now;
        }
        var elapsed = time.GetElapsedTime(_firstFailure, now);
        var remaining = connection.RetryWindow - elapsed;
        if (remaining <= TimeSpan.Zero)
        {
            throw connection.GaveUp(failure, endpoint, elapsed);
        }
        if (connection.HasHealthyEndpoint)
        {
            return;
        }
        var delay = Backoff(_failures);
        await Task.Delay(delay < remaining ? delay : remaining, time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The request or stream got through: the next failure starts a new window.</summary>
    public void Reset() => _failures = 0;

    /// <summary>Exponential backoff with jitter: about 50 ms doubling to 2 s.</summary>
    public static TimeSpan Backoff(int failures)
        => TimeSpan.FromMilliseconds(Math.Min(2000, 50 * Math.Pow(2, Math.Clamp(failures - 1, 0, 6)) * (0.75 + Random.Shared.NextDouble() / 2)));
}
