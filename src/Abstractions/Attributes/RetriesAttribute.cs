namespace Modal;

/// <summary>
/// Retries an input whose function threw, waiting <c>InitialDelayMs * BackoffCoefficient^(n-1)</c> before
/// retry n, capped at <see cref="MaxDelayMs"/>. Container failures are retried apart from this policy. On a
/// <see cref="ClsAttribute"/> class it applies to every method.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class RetriesAttribute : Attribute
{
    /// <summary>Retries after the first attempt (0..10).</summary>
    public int MaxRetries { get; set; }

    /// <summary>Growth of the delay between retries (1..10; default 2).</summary>
    public double BackoffCoefficient { get; set; } = RetryPolicy.DefaultBackoffCoefficient;

    /// <summary>Delay before the first retry in milliseconds (0..60000; default 1000).</summary>
    public int InitialDelayMs { get; set; } = RetryPolicy.DefaultInitialDelayMs;

    /// <summary>Longest delay between retries in milliseconds (1000..60000; default 60000).</summary>
    public int MaxDelayMs { get; set; } = RetryPolicy.DefaultMaxDelayMs;
}
