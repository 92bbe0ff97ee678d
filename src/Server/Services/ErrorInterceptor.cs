using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Modal.Server.Services;

/// <summary>
/// Turns exceptions into RPC errors that say what failed, so that no request ends as a bare UNKNOWN. Expected refusals
/// keep their message; anything unexpected is logged here with a correlation id, and the caller gets only that id (in
/// the message and the <c>modal-correlation-id</c> trailer), never the internal exception text.
/// </summary>
internal sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    public const string CorrelationTrailer = "modal-correlation-id";

    private RpcException Translate(Exception exception, ServerCallContext context)
    {
        if (exception is RpcException rpc)
        {
            return new RpcException(new Status(rpc.StatusCode, rpc.Status.Detail[..MaxDetailLength] + "… (shortened)"), rpc.Trailers);
        }
        if (exception is InvalidProtocolBufferException)
        {
            return Errors.Invalid($"{context.Method}: the request is not a valid protobuf message of its type.");
        }
        if (exception is Store.StoreRejection rejection)
        {
            return rejection.Kind switch
            {
                Store.StoreRejectionKind.NotFound => Errors.NotFound(rejection.Message),
                Store.StoreRejectionKind.ResourceExhausted => Errors.Exhausted(rejection.Message),
                Store.StoreRejectionKind.InvalidArgument => Errors.Invalid(rejection.Message),
                _ => Errors.FailedPrecondition(rejection.Message),
            };
        }
        string correlation = "err-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var trailers = new Metadata { { CorrelationTrailer, correlation } };
        if (exception is System.Data.Common.DbException or ObjectDisposedException)
        {
            // Nothing was committed: the caller may retry (the client does, inside its retry window).
            logger.LogWarning(exception, "{Method}: the store failed (correlation id {Correlation})", context.Method, correlation);
            return new RpcException(new Status(StatusCode.Unavailable,
                $"{context.Method}: the control plane's store is unavailable; retry (correlation id {correlation})."), trailers);
        }
        logger.LogError(exception, "{Method} failed (correlation id {Correlation})", context.Method, correlation);
        return new RpcException(new Status(StatusCode.Internal,
            $"{context.Method} failed in the control plane; the server's log has the details under correlation id {correlation}."), trailers);
    }

    /// <summary>The longest message a caller gets: messages may quote request fields, which can be large.</summary>
    public const int MaxDetailLength = 2000;

    private static bool Passes(Exception exception, ServerCallContext context) =>
        (exception is RpcException rpc && rpc.Status.Detail.Length <= MaxDetailLength)
        || (exception is OperationCanceledException && context.CancellationToken.IsCancellationRequested);

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception exception) when (!Passes(exception, context))
        {
            throw Translate(exception, context);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context).ConfigureAwait(false);
        }
        catch (Exception exception) when (!Passes(exception, context))
        {
            throw Translate(exception, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception exception) when (!Passes(exception, context))
        {
            throw Translate(exception, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context).ConfigureAwait(false);
        }
        catch (Exception exception) when (!Passes(exception, context))
        {
            throw Translate(exception, context);
        }
    }
}
