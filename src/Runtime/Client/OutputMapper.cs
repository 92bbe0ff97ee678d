using Grpc.Core;
using Api = Modal.Api;

namespace Modal;

/// <summary>Maps what the control plane answers (a <see cref="Api.FunctionResult"/>, a gRPC status) to the exceptions users catch.</summary>
internal static class OutputMapper
{
    /// <summary>The type name a worker reports for arguments that did not fit the function.</summary>
    public const string InvalidInputTypeName = "Modal.InvalidInputException";

    /// <summary>The type name a worker reports for a result it could not encode.</summary>
    public static readonly string PayloadTypeName = typeof(PayloadException).FullName!;

    /// <summary>The trailer in which the control plane says which kind of NOT_FOUND it is.</summary>
    public const string ErrorKindTrailer = "modal-error-kind";

    /// <summary>The error kind of a call whose output was removed after its retention period.</summary>
    public const string OutputExpiredKind = "output-expired";

    /// <summary>The failure a non-successful result stands for, or null for a success.</summary>
    public static ModalException? ToException(Api.FunctionResult result, string? functionName)
    {
        var name = functionName ?? "the function";
        return result.Status switch
        {
            Api.InputStatus.Success => null,
            Api.InputStatus.Failure when result.ExceptionType == InvalidInputTypeName
                => new InvalidInputException(result.ExceptionMessage),
            Api.InputStatus.Failure when result.ExceptionType == PayloadTypeName
                => new PayloadException(result.ExceptionMessage),
            Api.InputStatus.Failure => new RemoteFunctionException(
                string.IsNullOrEmpty(result.ExceptionType) ? "System.Exception" : result.ExceptionType,
                result.ExceptionMessage,
                string.IsNullOrEmpty(result.StackTrace) ? null : result.StackTrace,
                functionName,
                result.Attempt),
            Api.InputStatus.InitFailure => new RemoteFunctionException(
                string.IsNullOrEmpty(result.ExceptionType) ? "Modal.InitFailure" : result.ExceptionType,
                string.IsNullOrEmpty(result.ExceptionMessage) ? $"The container for {name} failed to start." : result.ExceptionMessage,
                string.IsNullOrEmpty(result.StackTrace) ? null : result.StackTrace,
                functionName),
            Api.InputStatus.Timeout => new FunctionTimeoutException(
                string.IsNullOrEmpty(result.ExceptionMessage) ? $"An input of {Quote(functionName)} ran past its timeout." : result.ExceptionMessage),
            Api.InputStatus.Terminated => new InputCancelledException(
                string.IsNullOrEmpty(result.ExceptionMessage) ? $"An input of {Quote(functionName)} was cancelled before it finished." : result.ExceptionMessage),
            _ => new ModalException($"An input of {Quote(functionName)} ended with an unexpected status {result.Status}."),
        };
    }

    /// <summary>Throws the failure a result stands for.</summary>
    public static void ThrowIfFailed(Api.FunctionResult result, string? functionName)
    {
        if (ToException(result, functionName) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>The exception a failed RPC stands for.</summary>
    public static ModalException FromRpc(RpcException exception, string serverUrl)
    {
        var detail = string.IsNullOrEmpty(exception.Status.Detail) ? exception.StatusCode.ToString() : exception.Status.Detail;
        if (exception.StatusCode == StatusCode.NotFound && exception.Trailers.GetValue(ErrorKindTrailer) == OutputExpiredKind)
        {
            return new OutputExpiredException(detail, exception);
        }
        return exception.StatusCode switch
        {
            StatusCode.NotFound => new NotFoundException(detail, exception),
            StatusCode.InvalidArgument or StatusCode.OutOfRange => new InvalidInputException(detail, exception),
            StatusCode.Unauthenticated or StatusCode.PermissionDenied => new AuthenticationException(
                $"The Modal control plane at {serverUrl} refused the credentials: {detail}. " +
                "Set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET (or ModalAppOptions.TokenId/TokenSecret) to a token it issued (`modal token new`).",
                exception),
            StatusCode.Unavailable => new ConnectionException(
                $"Could not reach the Modal control plane at {serverUrl}: {detail}. " +
                "Check that the server is running (`modal server`) and that MODAL_SERVER_URL (or ModalAppOptions.ServerUrl) points at it.",
                exception),
            StatusCode.FailedPrecondition => new ModalException($"The control plane at {serverUrl} refused the request: {detail}", exception),
            StatusCode.ResourceExhausted => new ModalException($"The control plane at {serverUrl} is at capacity: {detail}. Retry later.", exception),
            StatusCode.DeadlineExceeded => new ConnectionException($"The control plane at {serverUrl} did not answer in time: {detail}.", exception),
            _ => new ModalException($"The control plane at {serverUrl} answered {exception.StatusCode}: {detail}", exception),
        };
    }

    /// <summary>The public status of a wire status.</summary>
    public static InputStatus ToStatus(Api.InputStatus status) => status switch
    {
        Api.InputStatus.Pending => InputStatus.Pending,
        Api.InputStatus.Success => InputStatus.Success,
        Api.InputStatus.Failure => InputStatus.Failure,
        Api.InputStatus.InitFailure => InputStatus.InitFailure,
        Api.InputStatus.Terminated => InputStatus.Terminated,
        Api.InputStatus.Timeout => InputStatus.Timeout,
        _ => InputStatus.Pending,
    };

    private static string Quote(string? functionName) => functionName is null ? "the function" : $"'{functionName}'";
}
