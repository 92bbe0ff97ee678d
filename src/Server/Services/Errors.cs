using Grpc.Core;

namespace Modal.Server.Services;

/// <summary>The RPC errors the control plane answers with; messages say what was wrong and what to do.</summary>
internal static class Errors
{
    /// <summary>Trailer key set on NOT_FOUND answers for calls whose outputs passed their retention period.</summary>
    public const string ErrorKindTrailer = "modal-error-kind";

    /// <summary>The value of <see cref="ErrorKindTrailer"/> for expired outputs (the client maps it to OutputExpiredException).</summary>
    public const string OutputExpired = "output-expired";

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException Exhausted(string message) => new(new Status(StatusCode.ResourceExhausted, message));

    public static RpcException Unauthenticated(string message) => new(new Status(StatusCode.Unauthenticated, message));

    public static RpcException Denied(string message) => new(new Status(StatusCode.PermissionDenied, message));

    public static RpcException Expired(string callId, TimeSpan retention) => new(
        new Status(StatusCode.NotFound,
            $"The outputs of function call {callId} expired: outputs are kept for {retention} after they are produced."),
        new Metadata { { ErrorKindTrailer, OutputExpired } });
}
