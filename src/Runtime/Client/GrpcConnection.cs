using System.Net.Sockets;
using Grpc.Core;

namespace Modal;

/// <summary>
/// The channels to the control plane (one per replica URL) with the credentials every call presents, and the one
/// place where gRPC failures become <see cref="ModalException"/>s. Calls are spread over the replicas in turn; a call
/// that fails in transit (the server restarting, a replica failing over, a dropped connection, a full backlog) is
/// retried with backoff, on another replica when one answers, until <see cref="RetryWindow"/> since its first
/// failure is spent.
/// </summary>
internal sealed class GrpcConnection : IDisposable
{
    /// <summary>How long calls ride out an unreachable control plane unless told otherwise.</summary>
    public static readonly TimeSpan DefaultRetryWindow = TimeSpan.FromSeconds(60);

    private readonly GrpcEndpoint[] _endpoints;
    private readonly Metadata _headers;
    private int _next = -1;

    /// <summary>
    /// Connects to every URL of the list; <paramref name="handlerFactory"/> replaces the HTTP stack (tests);
    /// <paramref name="clientInvoker"/> wraps each endpoint's caller-facing call invoker (an embedded control plane's in-process calls).
    /// </summary>
    internal GrpcConnection(
        IReadOnlyList<string> serverUrls, Metadata headers, TimeSpan retryWindow, TimeProvider? time = null,
        Func<string, HttpMessageHandler>? handlerFactory = null, string? caCertificatePath = null, Func<CallInvoker, CallInvoker>? clientInvoker = null)
    {
        if (serverUrls.Count == 0)
        {
            throw new ArgumentException("At least one server URL is needed.", nameof(serverUrls));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(retryWindow, TimeSpan.Zero);
        Time = time ?? TimeProvider.System;
        RetryWindow = retryWindow;
        _headers = headers;
        var trust = caCertificatePath is null ? null : PrivateCertificateAuthority.Load(caCertificatePath);
        _endpoints = serverUrls.Select(url => new GrpcEndpoint(url, Time, handlerFactory?.Invoke(url), trust, clientInvoker)).ToArray();
        ServerUrls = serverUrls;
        ServerUrl = string.Join(",", serverUrls);
    }

    /// <summary>The control plane's URL, or its replicas' URLs comma-separated, for messages.</summary>
    public string ServerUrl { get; }

    /// <summary>The replicas' URLs.</summary>
    public IReadOnlyList<string> ServerUrls { get; }

    /// <summary>How long a request rides out failures in transit before they surface.</summary>
    public TimeSpan RetryWindow { get; }

    /// <summary>The clock of backoffs and retry windows.</summary>
    public TimeProvider Time { get; }

    /// <summary>Whether some replica has not failed lately (never, with one replica: a retry waits for it).</summary>
    public bool HasHealthyEndpoint => _endpoints.Length > 1 && Array.Exists(_endpoints, endpoint => endpoint.IsHealthy);

    /// <summary>A connection that presents a user token (may be empty for an embedded control plane).</summary>
    /// <param name="serverUrls">One URL, or several comma-separated (replicas).</param>
    /// <param name="tokenId">The token id, if any.</param>
    /// <param name="tokenSecret">The token secret, if any.</param>
    /// <param name="retryWindow">How long calls ride out an unreachable control plane; 60 s when null.</param>
    /// <param name="caCertificatePath">A PEM file of CA certificates to trust for <c>https://</c> besides the system's; null: the system's only.</param>
    /// <param name="clientInvoker">Wraps each endpoint's caller-facing call invoker (an embedded control plane's in-process calls).</param>
    public static GrpcConnection ForClient(
        string serverUrls, string? tokenId, string? tokenSecret, TimeSpan? retryWindow = null, string? caCertificatePath = null,
        Func<CallInvoker, CallInvoker>? clientInvoker = null)
        => new(ParseServerUrls(serverUrls), TokenHeaders(new Metadata(), tokenId, tokenSecret), retryWindow ?? DefaultRetryWindow,
            caCertificatePath: caCertificatePath, clientInvoker: clientInvoker);

    /// <summary>A connection that presents a container's identity (and a user token when the environment has one).</summary>
    public static GrpcConnection ForContainer(
        string serverUrls, string containerId, string containerToken, string? tokenId, string? tokenSecret, TimeSpan? retryWindow = null)
    {
        var headers = new Metadata
        {
            { "x-modal-container-id", containerId },
            { "x-modal-container-token", containerToken },
        };
        return new(ParseServerUrls(serverUrls), TokenHeaders(headers, tokenId, tokenSecret), retryWindow ?? DefaultRetryWindow,
            caCertificatePath: Environment.GetEnvironmentVariable(PrivateCertificateAuthority.Variable) is { Length: > 0 } ca ? ca : null);
    }

    /// <summary>
    /// The URLs of a server URL list: one URL or several separated by commas, each <c>http://</c> or <c>https://</c>
    /// (a bare <c>host:port</c> means <c>http://</c>). Throws <see cref="ConnectionException"/> naming the bad entry.
    /// </summary>
    public static IReadOnlyList<string> ParseServerUrls(string serverUrls)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(serverUrls);
        var entries = serverUrls.Split(',');
        var urls = new List<string>(entries.Length);
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i].Trim();
            var position = entries.Length == 1 ? "" : $" (entry {i + 1} of {entries.Length} in '{serverUrls}')";
            if (entry.Length == 0)
            {
                throw new ConnectionException(
                    $"The Modal server URL list '{serverUrls}' has an empty entry{position}. " +
                    "Set MODAL_SERVER_URL (or ModalAppOptions.ServerUrl) to one URL, or to several separated by commas: http://10.0.0.1:50051,http://10.0.0.2:50051.");
            }
            if (UnixSocket.IsUnixUrl(entry))
            {
                // A worker in a container without a network reaches the control plane over a socket mounted into it.
                var socket = UnixSocket.PathOf(entry) ?? throw new ConnectionException(
                    $"The Modal server URL '{entry}'{position} names no absolute socket path. Set MODAL_SERVER_URL to unix:/path/to/control.sock.");
                if (!urls.Contains("unix:" + socket, StringComparer.Ordinal))
                {
                    urls.Add("unix:" + socket);
                }
                continue;
            }
            var url = entry.Contains("://", StringComparison.Ordinal) ? entry : "http://" + entry;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || uri.Host.Length == 0)
            {
                throw new ConnectionException(
                    $"The Modal server URL '{entry}'{position} is not an http://, https:// or unix:/path URL. " +
                    "Set MODAL_SERVER_URL (or ModalAppOptions.ServerUrl) to the address `modal server` prints, or to several separated by commas.");
            }
            var normalized = uri.ToString().TrimEnd('/');
            if (!urls.Contains(normalized, StringComparer.OrdinalIgnoreCase))
            {
                urls.Add(normalized);
            }
        }
        return urls;
    }

    /// <summary>The replica for the next call: the next one in turn that has not failed lately, else simply the next one.</summary>
    public GrpcEndpoint NextEndpoint()
    {
        if (_endpoints.Length == 1)
        {
            return _endpoints[0];
        }
        // Unsigned, so that the turn never goes negative when the counter wraps.
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)_endpoints.Length);
        for (var i = 0; i < _endpoints.Length; i++)
        {
            var endpoint = _endpoints[(start + i) % _endpoints.Length];
            if (endpoint.IsHealthy)
            {
                return endpoint;
            }
        }
        return _endpoints[start];
    }

    /// <summary>Options for one call: the credentials, the caller's token and an optional deadline.</summary>
    public CallOptions Options(CancellationToken cancellationToken, TimeSpan? deadline = null)
        => new(_headers, deadline is { } after ? DateTime.UtcNow + after : null, cancellationToken);

    /// <summary>Starts the retries of one logical request or stream.</summary>
    public RetryBudget NewRetry() => new(this);

    /// <summary>
    /// Runs a unary RPC, retrying failures in transit within the retry window (see <see cref="RunAsync{T}"/>). A request
    /// that creates work must carry an idempotency key, set once outside <paramref name="send"/>, so that its retries
    /// are recognised.
    /// </summary>
    public Task<TResponse> CallAsync<TResponse>(
        Func<GrpcEndpoint, CallOptions, AsyncUnaryCall<TResponse>> send, CancellationToken cancellationToken, TimeSpan? deadline = null)
        => RunAsync(
            async (endpoint, options) =>
            {
                using var call = send(endpoint, options);
                return await call.ResponseAsync.ConfigureAwait(false);
            },
            cancellationToken, deadline);

    /// <summary>
    /// Runs one attempt after another of an exchange with the control plane (a unary call, a whole upload) until one
    /// succeeds. Failures in transit and a full backlog are retried with backoff, on another replica when one answers,
    /// until the retry window since the first failure is spent; then, like every other failure, they surface as the
    /// matching <see cref="ModalException"/>. <paramref name="deadline"/> bounds each attempt.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<GrpcEndpoint, CallOptions, Task<T>> attempt, CancellationToken cancellationToken, TimeSpan? deadline = null)
    {
        RetryBudget? retry = null;
        while (true)
        {
            var endpoint = NextEndpoint();
            try
            {
                var result = await attempt(endpoint, Options(cancellationToken, deadline)).ConfigureAwait(false);
                endpoint.MarkHealthy();
                return result;
            }
            catch (RpcException exception) when (IsTransient(exception, cancellationToken, ownDeadline: deadline is not null))
            {
                retry ??= NewRetry();
                await retry.WaitAsync(exception, endpoint, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException exception)
            {
                throw Translate(exception, cancellationToken, endpoint);
            }
            catch (Exception exception) when (exception is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                // A write on a client stream (an upload's chunks) surfaces a broken stream or connection as the transport's
                // own exception, not as an RpcException: an HTTP/2 reset, GOAWAY or ENHANCE_YOUR_CALM, a closed socket.
                retry ??= NewRetry();
                await retry.WaitAsync(BrokenInTransit(exception), endpoint, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A transport failure as the UNAVAILABLE status it amounts to, for the retry and its final message.</summary>
    private static RpcException BrokenInTransit(Exception exception)
        => new(new Status(StatusCode.Unavailable, $"the stream broke in transit ({exception.GetType().Name}: {exception.Message})", exception));

    /// <summary>
    /// Whether a failure is worth another try: the control plane unreachable or restarting (UNAVAILABLE), its backlog
    /// full (RESOURCE_EXHAUSTED), a connection or stream that broke in transit (an HTTP/2 reset or GOAWAY, an aborted
    /// request), or a deadline this client set for one attempt. Never once the caller's token is cancelled.
    /// </summary>
    public static bool IsTransient(RpcException exception, CancellationToken cancellationToken, bool ownDeadline = false)
        => !cancellationToken.IsCancellationRequested && exception.StatusCode switch
        {
            StatusCode.Unavailable or StatusCode.ResourceExhausted => true,
            StatusCode.DeadlineExceeded => ownDeadline,
            StatusCode.Internal or StatusCode.Cancelled or StatusCode.Unknown => BrokeInTransit(exception),
            _ => false,
        };

    /// <summary>The exception a failed RPC surfaces as.</summary>
    public Exception Translate(RpcException exception, CancellationToken cancellationToken, GrpcEndpoint? endpoint = null)
        => exception.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested
            ? new OperationCanceledException("The operation was cancelled.", exception, cancellationToken)
            : OutputMapper.FromRpc(exception, endpoint?.Url ?? ServerUrl);

    /// <summary>The exception a request surfaces as once its retry window is spent.</summary>
    public ModalException GaveUp(RpcException failure, GrpcEndpoint endpoint, TimeSpan elapsed)
    {
        var detail = string.IsNullOrEmpty(failure.Status.Detail) ? failure.StatusCode.ToString() : failure.Status.Detail;
        var window = $"RetryWindow is {RetryWindow.TotalSeconds:0.###} s; ModalAppOptions.RetryWindow or MODAL_RETRY_WINDOW_SECONDS sets it";
        if (failure.StatusCode == StatusCode.ResourceExhausted)
        {
            return new ModalException(
                $"The Modal control plane at {endpoint.Url} stayed at capacity for {elapsed.TotalSeconds:0.#} s: {detail}. " +
                $"Retry later or send fewer inputs at once ({window}).", failure);
        }
        var where = _endpoints.Length == 1 ? $"at {ServerUrl}" : $"at any of {string.Join(", ", ServerUrls)}";
        return new ConnectionException(
            $"Could not reach the Modal control plane {where} for {elapsed.TotalSeconds:0.#} s: {detail}. " +
            "Check that the server is running (`modal server`) and that MODAL_SERVER_URL (or ModalAppOptions.ServerUrl) points at it; " +
            $"to ride out longer restarts, raise the retry window ({window}).", failure);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var endpoint in _endpoints)
        {
            endpoint.Dispose();
        }
    }

    private static bool BrokeInTransit(RpcException exception)
    {
        for (var cause = exception.Status.DebugException; cause is not null; cause = cause.InnerException)
        {
            if (cause is HttpRequestException or IOException or SocketException)
            {
                return true;
            }
        }
        return false;
    }

    private static Metadata TokenHeaders(Metadata headers, string? tokenId, string? tokenSecret)
    {
        if (!string.IsNullOrEmpty(tokenId))
        {
            headers.Add("x-modal-token-id", tokenId);
        }
        if (!string.IsNullOrEmpty(tokenSecret))
        {
            headers.Add("x-modal-token-secret", tokenSecret);
        }
        return headers;
    }
}
