using Grpc.Core;
using Grpc.Net.Client;
using Modal.Api;

namespace Modal;

/// <summary>
/// One control plane replica: its URL, its HTTP/2 channel and stubs, and whether it failed lately, so that calls go to
/// the replicas that answer while one is down.
/// </summary>
internal sealed class GrpcEndpoint : IDisposable
{
    /// <summary>How long a replica that failed is passed over while another one is healthy.</summary>
    public static readonly TimeSpan FailurePenalty = TimeSpan.FromSeconds(2);

    private readonly GrpcChannel _channel;
    private readonly TimeProvider _time;
    private long _passOverUntil;

    public GrpcEndpoint(string url, TimeProvider time, HttpMessageHandler? handler = null, PrivateCertificateAuthority? trust = null,
        Func<CallInvoker, CallInvoker>? clientInvoker = null)
    {
        Url = url;
        _time = time;
        handler ??= new SocketsHttpHandler
        {
            SslOptions = trust is null ? new() : new() { RemoteCertificateValidationCallback = trust.Validate },
            // Long polls, log streams and map pumps each hold a stream; one connection allows only 100.
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = UnixSocket.PathOf(url) is { } socket ? UnixSocket.Connector(socket) : null,
        };
        // Over a Unix domain socket the HTTP/2 authority is a placeholder: the connect callback decides where bytes go.
        _channel = GrpcChannel.ForAddress(UnixSocket.IsUnixUrl(url) ? "http://localhost" : url, new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            MaxSendMessageSize = 64 * 1024 * 1024,
            DisposeHttpClient = true,
        });
        var network = _channel.CreateCallInvoker();
        Client = new ModalClient.ModalClientClient(clientInvoker?.Invoke(network) ?? network);
        Worker = new ModalWorker.ModalWorkerClient(_channel);
    }

    /// <summary>The replica's URL, as configured (normalized).</summary>
    public string Url { get; }

    /// <summary>Caller-facing RPCs on this replica.</summary>
    public ModalClient.ModalClientClient Client { get; }

    /// <summary>Worker-facing RPCs on this replica.</summary>
    public ModalWorker.ModalWorkerClient Worker { get; }

    /// <summary>False for <see cref="FailurePenalty"/> after a transport failure.</summary>
    public bool IsHealthy => _time.GetTimestamp() >= Volatile.Read(ref _passOverUntil);

    /// <summary>Passes this replica over for a while: the next calls go to others that answer.</summary>
    public void MarkFailed()
        => Volatile.Write(ref _passOverUntil, _time.GetTimestamp() + (long)(FailurePenalty.TotalSeconds * _time.TimestampFrequency));

    /// <summary>The replica answered.</summary>
    public void MarkHealthy()
    {
        if (Volatile.Read(ref _passOverUntil) != 0)
        {
            Volatile.Write(ref _passOverUntil, 0);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _channel.Dispose();

    /// <inheritdoc />
    public override string ToString() => Url;
}
