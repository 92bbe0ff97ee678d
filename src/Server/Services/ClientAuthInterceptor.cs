using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Modal.Server.Scheduling;

namespace Modal.Server.Services;

/// <summary>
/// When the control plane has a token, caller RPCs must present it (<c>x-modal-token-id</c>, <c>x-modal-token-secret</c>);
/// workers may present their container credentials instead, so that functions can call functions.
/// </summary>
internal sealed class ClientAuthInterceptor(ControlPlaneOptions options, WorkerSessions sessions) : Interceptor
{
    private const string ClientServicePrefix = "/modal.api.v1.ModalClient/";

    private async Task CheckAsync(ServerCallContext context)
    {
        if (options.TokenId is null || !context.Method.StartsWith(ClientServicePrefix, StringComparison.Ordinal))
        {
            return;
        }
        var headers = context.RequestHeaders;
        if (Same(headers.GetValue("x-modal-token-id"), options.TokenId) && Same(headers.GetValue("x-modal-token-secret"), options.TokenSecret ?? ""))
        {
            return;
        }
        if (await sessions.IsContainerAsync(headers.GetValue(ModalWorkerService.ContainerIdHeader), headers.GetValue(ModalWorkerService.ContainerTokenHeader))
                .ConfigureAwait(false))
        {
            return;
        }
        throw Errors.Unauthenticated("Missing or wrong token: present x-modal-token-id and x-modal-token-secret (MODAL_TOKEN_ID, MODAL_TOKEN_SECRET).");
    }

    private static bool Same(string? presented, string expected) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await CheckAsync(context).ConfigureAwait(false);
        return await continuation(request, context).ConfigureAwait(false);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await CheckAsync(context).ConfigureAwait(false);
        return await continuation(requestStream, context).ConfigureAwait(false);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await CheckAsync(context).ConfigureAwait(false);
        await continuation(request, responseStream, context).ConfigureAwait(false);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await CheckAsync(context).ConfigureAwait(false);
        await continuation(requestStream, responseStream, context).ConfigureAwait(false);
    }
}
