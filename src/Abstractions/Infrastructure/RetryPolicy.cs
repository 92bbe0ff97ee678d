namespace Modal;

/// <summary>How user exceptions are retried (from <see cref="RetriesAttribute"/>).</summary>
/// <param name="MaxRetries">Retries after the first attempt.</param>
/// <param name="BackoffCoefficient">Growth of the delay.</param>
/// <param name="InitialDelayMs">Delay before the first retry.</param>
/// <param name="MaxDelayMs">Cap on the delay.</param>
public sealed record RetryPolicy(int MaxRetries, double BackoffCoefficient, int InitialDelayMs, int MaxDelayMs)
{
    /// <summary>Default growth of the delay.</summary>
    public const double DefaultBackoffCoefficient = 2.0;
    /// <summary>Default first delay.</summary>
    public const int DefaultInitialDelayMs = 1000;
    /// <summary>Default cap on the delay.</summary>
    public const int DefaultMaxDelayMs = 60000;

    /// <summary>No retries.</summary>
    public static RetryPolicy None { get; } = new(0, DefaultBackoffCoefficient, DefaultInitialDelayMs, DefaultMaxDelayMs);

    /// <summary>
    /// The wait before retry <paramref name="retryNumber"/> (1 for the first retry):
    /// <c>InitialDelayMs * BackoffCoefficient^(retryNumber-1)</c>, at most <see cref="MaxDelayMs"/>.
    /// </summary>
    public TimeSpan DelayBeforeRetry(int retryNumber)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retryNumber, 1);
        double delay = InitialDelayMs * Math.Pow(BackoffCoefficient, retryNumber - 1);
        return TimeSpan.FromMilliseconds(Math.Min(delay, MaxDelayMs));
    }
}
