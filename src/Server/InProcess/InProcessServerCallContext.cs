using Grpc.Core;

namespace Modal.Server.InProcess;

/// <summary>
/// The server side of a call that an embedded control plane's own process makes without a network: the caller's
/// metadata, deadline and cancellation, and the state the interceptors keep for the handler. Only unary calls come this
/// way, so there are no response headers to send before the response.
/// </summary>
internal sealed class InProcessServerCallContext(string method, Metadata requestHeaders, DateTime deadline, CancellationToken cancellationToken)
    : ServerCallContext
{
    private readonly Dictionary<object, object> _userState = [];

    protected override string MethodCore => method;
    protected override string HostCore => "in-process";
    protected override string PeerCore => "in-process";
    protected override DateTime DeadlineCore => deadline;
    protected override Metadata RequestHeadersCore => requestHeaders;
    protected override CancellationToken CancellationTokenCore => cancellationToken;
    protected override Metadata ResponseTrailersCore { get; } = [];
    protected override Status StatusCore { get; set; }
    protected override WriteOptions? WriteOptionsCore { get; set; }
    protected override AuthContext AuthContextCore { get; } = new(null, []);
    protected override IDictionary<object, object> UserStateCore => _userState;

    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        throw new NotSupportedException("The control plane makes no calls of its own from a request.");

    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
}
