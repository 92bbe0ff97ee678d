namespace Modal;

/// <summary>
/// The function threw in its container. The remote exception's type, message and stack trace are kept.
/// </summary>
public sealed class RemoteFunctionException : ModalException
{
    /// <summary>Creates the exception from what the container reported.</summary>
    /// <param name="remoteType">The full name of the exception type that was thrown remotely.</param>
    /// <param name="remoteMessage">Its message.</param>
    /// <param name="remoteStackTrace">Its stack trace, as text.</param>
    /// <param name="functionName">The function that threw, if known.</param>
    /// <param name="attempts">How many attempts were made, retries included; 0 when unknown.</param>
    public RemoteFunctionException(string remoteType, string remoteMessage, string? remoteStackTrace, string? functionName = null, int attempts = 0)
        : base((functionName is null
            ? $"{remoteType}: {remoteMessage}"
            : $"Function '{functionName}' threw {remoteType}: {remoteMessage}") + (attempts > 1 ? $" (after {attempts} attempts)" : string.Empty))
    {
        RemoteType = remoteType;
        RemoteMessage = remoteMessage;
        RemoteStackTrace = remoteStackTrace;
        FunctionName = functionName;
        Attempts = attempts;
    }

    /// <summary>How many attempts were made before the call failed, retries included (1: none); 0 when unknown.</summary>
    public int Attempts { get; }

    /// <summary>The same failure, counted.</summary>
    internal RemoteFunctionException WithAttempts(int attempts) => new(RemoteType, RemoteMessage, RemoteStackTrace, FunctionName, attempts);

    /// <summary>The full name of the remote exception's type, for example <c>System.ArgumentException</c>.</summary>
    public string RemoteType { get; }

    /// <summary>The remote exception's message.</summary>
    public string RemoteMessage { get; }

    /// <summary>The remote exception's stack trace, as the container printed it.</summary>
    public string? RemoteStackTrace { get; }

    /// <summary>The function that threw, where known.</summary>
    public string? FunctionName { get; }

    /// <inheritdoc />
    public override string ToString()
        => RemoteStackTrace is null
            ? base.ToString()
            : $"{base.ToString()}{Environment.NewLine}--- Remote stack trace ---{Environment.NewLine}{RemoteStackTrace}";
}
