namespace Modal;

/// <summary>How <c>ModalApp.RunAsync</c> and <c>ModalApp.DeployAsync</c> connect and name the app.</summary>
public sealed record ModalAppOptions
{
    /// <summary>The app's name; defaults to <c>[assembly: ModalApp]</c> or the assembly's name.</summary>
    public string? AppName { get; init; }

    /// <summary>
    /// The control plane's URL, or the URLs of its replicas separated by commas
    /// (<c>http://10.0.0.1:50051,http://10.0.0.2:50051</c>): calls are spread over them and fail over to the ones that
    /// answer. Defaults to <c>MODAL_SERVER_URL</c>.
    /// </summary>
    public string? ServerUrl { get; init; }

    /// <summary>The token id; defaults to <c>MODAL_TOKEN_ID</c>.</summary>
    public string? TokenId { get; init; }

    /// <summary>The token secret; defaults to <c>MODAL_TOKEN_SECRET</c>.</summary>
    public string? TokenSecret { get; init; }

    /// <summary>
    /// A PEM file of CA certificates to trust for an <c>https://</c> control plane besides the system's (a private CA, or a
    /// self-signed server certificate); defaults to <c>MODAL_CA_CERT</c>.
    /// </summary>
    public string? CaCertificatePath { get; init; }

    /// <summary>Where calls run; <see cref="ModalMode.Auto"/> by default.</summary>
    public ModalMode Mode { get; init; } = ModalMode.Auto;

    /// <summary>
    /// How long a client rides out an unreachable control plane (a restart, a failover, a dropped connection, a full
    /// backlog) before a call fails with <see cref="ConnectionException"/>: each request is retried with backoff for
    /// this long after its first failure. Null means <c>MODAL_RETRY_WINDOW_SECONDS</c> when set, else 60 seconds;
    /// <see cref="TimeSpan.Zero"/> retries nothing.
    /// </summary>
    public TimeSpan? RetryWindow { get; init; }

    /// <summary>
    /// Where the runtime logs (categories <c>Modal.Client</c> and <c>Modal.Worker</c>): slow calls, container starts,
    /// retries with their attempt numbers, failed attempts. Null (the default) logs nothing; <c>AddModal</c> uses the
    /// host's. Workers log through the factory the app passes to <c>RunAsync</c>, and their output reaches the caller.
    /// </summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>A call that waits this long or longer for its result is logged as a warning; null means 10 seconds.</summary>
    public TimeSpan? SlowCallThreshold { get; init; }

    /// <summary>
    /// Connect without registering this process's own functions: the connection of a host (<c>AddModal</c>) that calls
    /// other apps' functions by name. Its app has no functions and no workers.
    /// </summary>
    internal bool ClientOnly { get; init; }
}
