using Modal.Api;

namespace Modal;

/// <summary>
/// The backend of the embedded and remote modes: an app registered on a control plane (an embedded one that this
/// backend owns, or a standalone one), whose calls go through a <see cref="GrpcBackend"/>. Disposing stops the
/// app, closes the connection and stops an owned control plane.
/// </summary>
internal sealed class ControlPlaneBackend : IModalBackend, IAsyncDisposable
{
    private readonly GrpcConnection _connection;
    private readonly AppSession _session;
    private readonly IAsyncDisposable? _ownedServer;

    private ControlPlaneBackend(GrpcConnection connection, AppSession session, IAsyncDisposable? ownedServer)
    {
        _connection = connection;
        _session = session;
        _ownedServer = ownedServer;
    }

    /// <summary>The app's session on the control plane.</summary>
    public AppSession Session => _session;

    /// <summary>The control plane's URL (its replicas' URLs, comma-separated).</summary>
    public string ServerUrl => _connection.ServerUrl;

    /// <summary>Connects, registers the app's functions (with how to launch its workers) and starts its heartbeat.</summary>
    /// <param name="serverUrl">The control plane's URL, or its replicas' URLs comma-separated.</param>
    /// <param name="appName">The app's name.</param>
    /// <param name="kind">Ephemeral (<c>RunAsync</c>) or deployed.</param>
    /// <param name="options">Credentials and the retry window.</param>
    /// <param name="ownedServer">An embedded control plane to stop on dispose, if any.</param>
    /// <param name="cancellationToken">Stops the registration.</param>
    /// <param name="inProcessClient">For an embedded control plane: wraps the network's call invoker with one that serves the caller's unary calls in process.</param>
    public static async Task<ControlPlaneBackend> StartAsync(
        string serverUrl, string appName, AppKind kind, ModalAppOptions options, IAsyncDisposable? ownedServer, CancellationToken cancellationToken,
        Func<Grpc.Core.CallInvoker, Grpc.Core.CallInvoker>? inProcessClient = null)
    {
        var settings = Hosting.ClientSettings.Resolve(options);
        var connection = GrpcConnection.ForClient(
            serverUrl,
            settings.TokenId,
            settings.TokenSecret,
            Hosting.BackendFactory.RetryWindow(options),
            options.CaCertificatePath ?? (Environment.GetEnvironmentVariable(PrivateCertificateAuthority.Variable) is { Length: > 0 } ca ? ca : null),
            inProcessClient);
        try
        {
            IReadOnlyList<IFunctionEntrypoint>? entrypoints = null;
            if (!options.ClientOnly)
            {
                Hosting.AppIdentity.EnsureEntrypointsRegistered();
                entrypoints = Hosting.AppIdentity.EntrypointsOf(appName);
            }
            // `modal run` cannot know the token of a control plane this process embeds: the run report carries it (to the tool's private folder).
            var reportedToken = ownedServer is null || settings.TokenId is null || settings.TokenSecret is null
                ? null
                : new Hosting.RunReport.Token(settings.TokenId, settings.TokenSecret);
            var session = await AppSession.CreateAsync(connection, appName, kind, entrypoints, uploadArtifact: ownedServer is null, reportedToken,
                cancellationToken).ConfigureAwait(false);
            return new ControlPlaneBackend(connection, session, ownedServer);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public string? RunningAppName => _session.AppName;

    /// <inheritdoc />
    public bool Runs(FunctionDefinition definition) => _session.Backend.Runs(definition);

    /// <inheritdoc />
    public Task<string> HydrateAsync(FunctionReference function, CancellationToken cancellationToken)
        => _session.Backend.HydrateAsync(function, cancellationToken);

    /// <inheritdoc />
    public Task<ReadOnlyMemory<byte>> CallAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
        => _session.Backend.CallAsync(function, arguments, cancellationToken);

    /// <inheritdoc />
    public Task<string> SpawnAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
        => _session.Backend.SpawnAsync(function, arguments, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<MapOutput> MapAsync(FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, bool orderOutputs, CancellationToken cancellationToken)
        => _session.Backend.MapAsync(function, inputs, orderOutputs, cancellationToken);

    /// <inheritdoc />
    public Task<string> SpawnMapAsync(FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, CancellationToken cancellationToken)
        => _session.Backend.SpawnMapAsync(function, inputs, cancellationToken);

    /// <inheritdoc />
    public Task<int> GetCallInputCountAsync(string functionCallId, CancellationToken cancellationToken)
        => _session.Backend.GetCallInputCountAsync(functionCallId, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<MapOutput> GetCallOutputsAsync(string functionCallId, CancellationToken cancellationToken)
        => _session.Backend.GetCallOutputsAsync(functionCallId, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<ReadOnlyMemory<byte>> CallGeneratorAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
        => _session.Backend.CallGeneratorAsync(function, arguments, cancellationToken);

    /// <inheritdoc />
    public Task<ReadOnlyMemory<byte>> GetCallOutputAsync(string functionCallId, TimeSpan? timeout, CancellationToken cancellationToken)
        => _session.Backend.GetCallOutputAsync(functionCallId, timeout, cancellationToken);

    /// <inheritdoc />
    public Task CancelCallAsync(string functionCallId, bool terminateContainers, CancellationToken cancellationToken)
        => _session.Backend.CancelCallAsync(functionCallId, terminateContainers, cancellationToken);

    /// <inheritdoc />
    public Task<IReadOnlyList<InputInfo>> GetCallGraphAsync(string functionCallId, CancellationToken cancellationToken)
        => _session.Backend.GetCallGraphAsync(functionCallId, cancellationToken);

    /// <inheritdoc />
    public Task<FunctionStats> GetCurrentStatsAsync(FunctionReference function, CancellationToken cancellationToken)
        => _session.Backend.GetCurrentStatsAsync(function, cancellationToken);

    /// <inheritdoc />
    public Task KeepWarmAsync(FunctionReference function, int warmPoolSize, CancellationToken cancellationToken)
        => _session.Backend.KeepWarmAsync(function, warmPoolSize, cancellationToken);

    /// <inheritdoc />
    public Task UpdateAutoscalerAsync(FunctionReference function, int? minContainers, int? maxContainers, int? bufferContainers,
        int? scaledownWindowSeconds, CancellationToken cancellationToken)
        => _session.Backend.UpdateAutoscalerAsync(function, minContainers, maxContainers, bufferContainers, scaledownWindowSeconds, cancellationToken);

    /// <summary>One heartbeat of the app, within <paramref name="cancellationToken"/>: whether the control plane answers.</summary>
    public Task ProbeAsync(CancellationToken cancellationToken) => _session.ProbeAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _session.DisposeAsync().ConfigureAwait(false);
        _connection.Dispose();
        if (_ownedServer is not null)
        {
            await _ownedServer.DisposeAsync().ConfigureAwait(false);
        }
    }
}
