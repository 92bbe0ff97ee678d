using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Modal.Hosting;

/// <summary>
/// The runtime's logging, through <see cref="ModalAppOptions.LoggerFactory"/> (a host's own with <c>AddModal</c>):
/// category <c>Modal.Client</c> for calls (slow calls), <c>Modal.Worker</c> for containers (starts, retries with their
/// attempt numbers, failed attempts). Quiet until an app or host gives it a logger factory. One per process, like the
/// connection the handles use.
/// </summary>
internal static partial class ModalLog
{
    /// <summary>A call that waits this long or longer is logged, unless <see cref="ModalAppOptions.SlowCallThreshold"/> says otherwise.</summary>
    public static readonly TimeSpan DefaultSlowCallThreshold = TimeSpan.FromSeconds(10);

    private static ILogger s_client = NullLogger.Instance;
    private static ILogger s_worker = NullLogger.Instance;
    private static TimeSpan s_slowCall = DefaultSlowCallThreshold;

    /// <summary>Takes the logger factory and threshold of the app (or host) that starts in this process.</summary>
    public static void Configure(ModalAppOptions options)
    {
        var factory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        s_client = factory.CreateLogger("Modal.Client");
        s_worker = factory.CreateLogger("Modal.Worker");
        s_slowCall = options.SlowCallThreshold ?? DefaultSlowCallThreshold;
    }

    /// <summary>Logs a call that took at least the slow-call threshold.</summary>
    public static void CallFinished(string functionName, TimeSpan elapsed)
    {
        if (elapsed >= s_slowCall)
        {
            SlowCall(s_client, functionName, elapsed.TotalSeconds, s_slowCall.TotalSeconds);
        }
    }

    public static void ContainerStarted(string containerId, string appName, string functionName)
        => ContainerStartedCore(s_worker, containerId, appName, functionName, Environment.ProcessId);

    public static void RetryStarted(string functionName, string inputId, int attempt) => RetryStartedCore(s_worker, functionName, inputId, attempt);

    public static void AttemptFailed(string functionName, string inputId, int attempt, Exception exception)
        => AttemptFailedCore(s_worker, functionName, inputId, attempt, exception.GetType().FullName ?? exception.GetType().Name, exception.Message);

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Call to {FunctionName} took {Seconds:0.0} s (slow-call threshold {Threshold:0.#} s)")]
    private static partial void SlowCall(ILogger logger, string functionName, double seconds, double threshold);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Container {ContainerId} started for {AppName}.{FunctionName} (process {ProcessId})")]
    private static partial void ContainerStartedCore(ILogger logger, string containerId, string appName, string functionName, int processId);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "{FunctionName}: input {InputId}, attempt {Attempt} (a retry)")]
    private static partial void RetryStartedCore(ILogger logger, string functionName, string inputId, int attempt);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "{FunctionName}: input {InputId}, attempt {Attempt} failed with {ExceptionType}: {ExceptionMessage}")]
    private static partial void AttemptFailedCore(ILogger logger, string functionName, string inputId, int attempt, string exceptionType, string exceptionMessage);
}
