using Grpc.Core;
using Grpc.Core.Interceptors;
using Modal.Server.Scheduling;
using Modal.Server.Security;

namespace Modal.Server.Services;

/// <summary>
/// Establishes who calls each caller RPC and leaves it in the call's user state for <see cref="AccessControl"/>: a worker
/// by its container credentials (<c>x-modal-container-id</c>, <c>x-modal-container-token</c>), anyone else by a token
/// (<c>x-modal-token-id</c>, <c>x-modal-token-secret</c>), which a standalone control plane always requires and checks
/// against the store on every request. An embedded control plane without a token trusts its own process's callers.
/// </summary>
internal sealed class ClientAuthInterceptor(ControlPlaneOptions options, WorkerSessions sessions, TokenAuthority tokens) : Interceptor
{
    private const string ClientServicePrefix = "/modal.api.v1.ModalClient/";

    private async Task CheckAsync(ServerCallContext context)
    {
        if (!context.Method.StartsWith(ClientServicePrefix, StringComparison.Ordinal))
        {
            return;
        }
        var headers = context.RequestHeaders;
        string? containerId = headers.GetValue(ModalWorkerService.ContainerIdHeader);
        Principal principal;
        if (containerId is not null)
        {
            var session = await sessions.AuthenticateAsync(containerId, headers.GetValue(ModalWorkerService.ContainerTokenHeader)).ConfigureAwait(false);
            principal = new Principal(PrincipalKind.Worker, session.ContainerId, AppId: session.AppId, ContainerId: session.ContainerId);
        }
        else if (options.Standalone || options.TokenId is not null)
        {
            principal = await tokens.AuthenticateAsync(headers.GetValue(TokenAuthority.IdHeader), headers.GetValue(TokenAuthority.SecretHeader))
                .ConfigureAwait(false);
        }
        else
        {
            principal = Principal.Local;
        }
        context.UserState[Principal.ContextKey] = principal;
    }

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
