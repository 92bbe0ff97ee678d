using Grpc.Core;
using Grpc.Net.Client;
using Modal.Api;

namespace Modal;

/// <summary>
/// One HTTP/2 channel to the control plane with the credentials every call presents, and the one place where
/// gRPC failures become <see cref="ModalException"/>s.
/// </summary>
internal sealed class GrpcConnection : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly Metadata _headers;

    private GrpcConnection(string serverUrl, Metadata headers)
    {
        ServerUrl = serverUrl;
        _headers = headers;
        var handler = new SocketsHttpHandler
        {
            // Long polls, log streams and map pumps each hold a stream; one connection allows only 100.
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        _channel = GrpcChannel.ForAddress(serverUrl, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            MaxSendMessageSize = 64 * 1024 * 1024,
            DisposeHttpClient = true,
        });
        Client = new ModalClient.ModalClientClient(_channel);
        Worker = new ModalWorker.ModalWorkerClient(_channel);
    }

    /// <summary>The control plane's URL, for error messages.</summary>
    public string ServerUrl { get; }

    /// <summary>Caller-facing RPCs.</summary>
    public ModalClient.ModalClientClient Client { get; }

    /// <summary>Worker-facing RPCs.</summary>
    public ModalWorker.ModalWorkerClient Worker { get; }

    /// <summary>A connection that presents a user token (may be empty for an embedded control plane).</summary>
    public static GrpcConnection ForClient(string serverUrl, string? tokenId, string? tokenSecret)
    {
        var headers = new Metadata();
        if (!string.IsNullOrEmpty(tokenId))
        {
            headers.Add("x-modal-token-id", tokenId);
        }
        if (!string.IsNullOrEmpty(tokenSecret))
        {
            headers.Add("x-modal-token-secret", tokenSecret);
        }
        return new GrpcConnection(Normalize(serverUrl), headers);
    }

    /// <summary>A connection that presents a container's identity (and a user token when the environment has one).</summary>
    public static GrpcConnection ForContainer(string serverUrl, string containerId, string containerToken, string? tokenId, string? tokenSecret)
    {
        var headers = new Metadata
        {
            { "x-modal-container-id", containerId },
            { "x-modal-container-token", containerToken },
        };
        if (!string.IsNullOrEmpty(tokenId))
        {
            headers.Add("x-modal-token-id", tokenId);
        }
        if (!string.IsNullOrEmpty(tokenSecret))
        {
            headers.Add("x-modal-token-secret", tokenSecret);
        }
        return new GrpcConnection(Normalize(serverUrl), headers);
    }

    /// <summary>Options for one call: the credentials, the caller's token and an optional deadline.</summary>
    public CallOptions Options(CancellationToken cancellationToken, TimeSpan? deadline = null)
        => new(_headers, deadline is { } after ? DateTime.UtcNow + after : null, cancellationToken);

    /// <summary>
    /// Runs a unary RPC. Backlog-full answers are retried with backoff; connection failures are retried a few times
    /// when <paramref name="idempotent"/>; every other failure becomes the matching <see cref="ModalException"/>.
    /// </summary>
    public async Task<TResponse> CallAsync<TResponse>(
        Func<CallOptions, AsyncUnaryCall<TResponse>> send, CancellationToken cancellationToken, bool idempotent = false, TimeSpan? deadline = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var call = send(Options(cancellationToken, deadline));
                return await call.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException exception) when (ShouldRetry(exception, idempotent, attempt) && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException exception)
            {
                throw Translate(exception, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Sends a worker's report (outputs, generator items, log lines). The server drops duplicates by attempt, so
    /// every transient failure (unavailable, backlog full, deadline) is retried, up to <paramref name="maxAttempts"/>
    /// tries; the last failure is thrown as the <see cref="RpcException"/> for the caller to handle.
    /// </summary>
    public async Task SendReportAsync<TResponse>(Func<CallOptions, AsyncUnaryCall<TResponse>> send, TimeSpan deadline, int maxAttempts)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var call = send(Options(CancellationToken.None, deadline));
                await call.ResponseAsync.ConfigureAwait(false);
                return;
            }
            catch (RpcException exception) when (attempt < maxAttempts
                && exception.StatusCode is StatusCode.Unavailable or StatusCode.ResourceExhausted or StatusCode.DeadlineExceeded)
            {
                await Task.Delay(Backoff(attempt)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The exception a failed RPC surfaces as.</summary>
    public Exception Translate(RpcException exception, CancellationToken cancellationToken)
        => exception.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested
            ? new OperationCanceledException("The operation was cancelled.", exception, cancellationToken)
            : OutputMapper.FromRpc(exception, ServerUrl);

    /// <summary>Whether a failure is worth another try.</summary>
    public static bool ShouldRetry(RpcException exception, bool idempotent, int attempt)
        => exception.StatusCode switch
        {
            StatusCode.ResourceExhausted => attempt < 30,
            StatusCode.Unavailable => idempotent && attempt < 4,
            _ => false,
        };

    /// <summary>Exponential backoff with a cap, from 50 ms.</summary>
    public static TimeSpan Backoff(int attempt)
        => TimeSpan.FromMilliseconds(Math.Min(2000, 50 * Math.Pow(2, Math.Min(attempt - 1, 6))) * (0.75 + Random.Shared.NextDouble() / 2));

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();

    private static string Normalize(string serverUrl)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serverUrl);
        var url = serverUrl.Trim();
        if (!url.Contains("://", StringComparison.Ordinal))
        {
            url = "http://" + url;
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ConnectionException(
                $"The Modal server URL '{serverUrl}' is not an http:// or https:// URL. Set MODAL_SERVER_URL (or ModalAppOptions.ServerUrl) to the address `modal server` prints.");
        }
        return uri.ToString().TrimEnd('/');
    }
}
