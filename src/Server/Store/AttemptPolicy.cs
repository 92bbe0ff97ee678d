using Google.Protobuf;
using Modal.Api;

namespace Modal.Server.Store;

/// <summary>The retry parameters of a function, as the stores keep them in columns beside the spec.</summary>
internal readonly record struct RetryParameters(int MaxRetries, double BackoffCoefficient, int InitialDelayMs, int MaxDelayMs)
{
    public static RetryParameters Of(FunctionSpec spec) => spec.Retries is { } retries
        ? new(retries.MaxRetries, retries.BackoffCoefficient, retries.InitialDelayMs, retries.MaxDelayMs)
        : default;
}

/// <summary>
/// What ends an attempt, decided the same way by every store inside its transaction: user failures and timeouts are
/// retried per the function's [Retries] with backoff (Modal's timeout is per attempt); cancelled inputs and generators
/// (whose items may already have reached the caller) are not.
/// </summary>
internal static class AttemptPolicy
{
    /// <summary>The delay before the next attempt, or null when the attempt's result is final.</summary>
    public static long? RetryDelayMs(RetryParameters retries, InputStatus status, int retriesUsed, bool cancelled, bool isGenerator)
    {
        bool retryable = status is InputStatus.Failure or InputStatus.Timeout;
        if (!retryable || cancelled || isGenerator || retriesUsed >= retries.MaxRetries)
        {
            return null;
        }
        return (long)DelayBeforeRetry(retries, retriesUsed + 1).TotalMilliseconds;
    }

    /// <summary>The wait before retry <paramref name="retryNumber"/>: initial * coefficient^(n-1), capped.</summary>
    public static TimeSpan DelayBeforeRetry(RetryParameters retries, int retryNumber)
    {
        double coefficient = retries.BackoffCoefficient > 0 ? retries.BackoffCoefficient : 2.0;
        double maxDelay = retries.MaxDelayMs > 0 ? retries.MaxDelayMs : 60_000;
        double delay = Math.Max(0, retries.InitialDelayMs) * Math.Pow(coefficient, retryNumber - 1);
        return TimeSpan.FromMilliseconds(Math.Min(delay, maxDelay));
    }

    /// <summary>The status a serialized result carries (reads field 1 only).</summary>
    public static InputStatus StatusOf(byte[] result)
    {
        try
        {
            return FunctionResult.Parser.ParseFrom(result).Status;
        }
        catch (InvalidProtocolBufferException)
        {
            return InputStatus.Failure;
        }
    }
}

/// <summary>The results the control plane writes itself (not a worker's).</summary>
internal static class Outcomes
{
    public static byte[] Terminated() => new FunctionResult
    {
        Status = InputStatus.Terminated,
        ExceptionType = "Modal.InputCancelled",
        ExceptionMessage = "The input was cancelled.",
    }.ToByteArray();

    public static byte[] AppStopped() => new FunctionResult
    {
        Status = InputStatus.Terminated,
        ExceptionType = "Modal.InputCancelled",
        ExceptionMessage = "The input was cancelled: its app was stopped.",
    }.ToByteArray();

    public static byte[] ContainerFailure(string inputId, int failures, int limit, string reason) => new FunctionResult
    {
        Status = InputStatus.Failure,
        ExceptionType = "Modal.ContainerFailure",
        ExceptionMessage = $"Input {inputId} failed: its container failed {failures} times (the limit is {limit} re-queues). " +
            $"Last failure: {reason}",
    }.ToByteArray();

    public static byte[] Timeout(string functionName, string inputId, int timeoutSeconds) => new FunctionResult
    {
        Status = InputStatus.Timeout,
        ExceptionType = "Modal.FunctionTimeout",
        ExceptionMessage = $"Function {functionName} did not finish input {inputId} within its timeout of {timeoutSeconds} s, " +
            "and its worker did not stop; the worker was killed.",
    }.ToByteArray();

    public static byte[] InitFailure(string functionName, int failures, string reason) => new FunctionResult
    {
        Status = InputStatus.InitFailure,
        ExceptionType = "Modal.ContainerInitFailure",
        ExceptionMessage = $"Workers for {functionName} failed to start {failures} times in a row: {reason}",
    }.ToByteArray();
}
