namespace Modal.InProcess;

/// <summary>The errors a caller sees, worded as the remote modes word them.</summary>
internal static class RemoteFailures
{
    /// <summary>A user exception, with its type, message and stack trace kept as text like a container reports them.</summary>
    public static RemoteFunctionException FromUserException(Exception exception, string functionName)
        => new(exception.GetType().FullName ?? exception.GetType().Name, exception.Message, exception.StackTrace ?? string.Empty, functionName);

    public static FunctionTimeoutException Timeout(FunctionDefinition function)
        => new($"Function '{function.Name}' did not finish within its timeout of {function.Options.TimeoutSeconds} s: " +
               "its cancellation token was cancelled and the input ended as Timeout. " +
               "Raise [Function(TimeoutSeconds = ...)] if it needs longer.");

    public static InputCancelledException Cancelled(string functionName, string functionCallId, string inputId, bool appStopped)
        => new(appStopped
            ? $"Input {inputId} of call {functionCallId} ({functionName}) was terminated because the app stopped."
            : $"Input {inputId} of call {functionCallId} ({functionName}) was cancelled before it finished.");

    /// <summary>The remote type of an input that ended as InitFailure (its containers failed to start), as the control plane reports it.</summary>
    public const string InitFailureType = "Modal.ContainerInitFailure";

    /// <summary>Inputs of a function whose containers failed to start that many times in a row, worded as the control plane words it.</summary>
    public static RemoteFunctionException InitFailure(string functionName, int failures, string reason)
        => new(InitFailureType, $"Workers for {functionName} failed to start {failures} times in a row: {reason}", null, functionName);
}
