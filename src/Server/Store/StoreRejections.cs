namespace Modal.Server.Store;

/// <summary>The refusals both stores make, with one wording: what was refused, why, and what to do.</summary>
internal static class StoreRejections
{
    public static StoreRejection FunctionNotFound(string functionId) => new(StoreRejectionKind.NotFound,
        $"Function '{functionId}' was not found. Look functions up with FunctionGet or create them with AppCreate.");

    public static StoreRejection AppStopped(string appName, string functionName) => new(StoreRejectionKind.FailedPrecondition,
        $"App '{appName}' was stopped; function {functionName} cannot be called.");

    public static StoreRejection CallNotFound(string callId) => new(StoreRejectionKind.NotFound, $"Function call '{callId}' was not found.");

    /// <summary>Throws when a call takes no more inputs: its app stopped, it was cancelled, or its last inputs came.</summary>
    public static void ThrowIfClosed(string callId, string appName, bool appStopped, bool cancelled, bool inputsComplete, int newInputs)
    {
        if (appStopped)
        {
            throw new StoreRejection(StoreRejectionKind.FailedPrecondition, $"App '{appName}' was stopped; no more inputs are accepted.");
        }
        if (cancelled)
        {
            throw new StoreRejection(StoreRejectionKind.FailedPrecondition, $"Function call {callId} was cancelled; no more inputs are accepted.");
        }
        if (inputsComplete && newInputs > 0)
        {
            throw new StoreRejection(StoreRejectionKind.FailedPrecondition,
                $"Function call {callId} already received its last inputs (a request with last = true); no more are accepted.");
        }
    }

    public static StoreRejection BacklogFull(string? functionName, long ready, long bytes, int adding, long addingBytes, BacklogLimits limits) =>
        new(StoreRejectionKind.ResourceExhausted,
            $"Function {functionName} already has {ready} inputs ({bytes} bytes) waiting; adding {adding} ({addingBytes} bytes) would pass " +
            $"the limit of {limits.MaxInputs} inputs or {limits.MaxBytes} bytes. Retry later.");
}
