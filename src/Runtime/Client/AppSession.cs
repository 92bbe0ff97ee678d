using Modal.Api;

namespace Modal;

/// <summary>
/// An app registered on a control plane: <c>AppCreate</c> with every function of the registered entrypoints and
/// how to launch its workers, a heartbeat that keeps an ephemeral app alive, the log follower and the installed
/// <see cref="GrpcBackend"/>. Disposing stops an ephemeral app.
/// </summary>
internal sealed class AppSession : IAsyncDisposable
{
    private static readonly TimeSpan s_heartbeatInterval = TimeSpan.FromSeconds(2);

    private readonly GrpcConnection _connection;
    private readonly bool _ephemeral;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _heartbeat;
    private readonly LogPrinter? _logs;

    private AppSession(
        GrpcConnection connection, string appName, AppCreateResponse created, bool ephemeral, IEnumerable<FunctionDefinition> functions, string artifactDigest)
    {
        _connection = connection;
        _ephemeral = ephemeral;
        AppId = created.AppId;
        AppName = appName;
        Version = created.Version;
        ArtifactDigest = artifactDigest;
        Image = created.Image;
        FunctionIds = new Dictionary<string, string>(created.FunctionIds, StringComparer.Ordinal);
        Backend = new GrpcBackend(connection, appName, FunctionIds, functions);
        _heartbeat = ephemeral ? Task.Run(() => HeartbeatAsync(_stop.Token)) : Task.CompletedTask;
        if (ephemeral)
        {
            _logs = LogPrinter.Start(connection, AppId);
        }
    }

    /// <summary>The app's id on the control plane.</summary>
    public string AppId { get; }

    /// <summary>The app's name.</summary>
    public string AppName { get; }

    /// <summary>The version this registration made of a deployed app (1, 2, 3...); 0 for an ephemeral app.</summary>
    public int Version { get; }

    /// <summary>The digest of the uploaded build output the app's workers run; empty when none was uploaded (embedded).</summary>
    public string ArtifactDigest { get; }

    /// <summary>The worker image the control plane recorded with the app (by digest); empty when it has none.</summary>
    public string Image { get; }

    /// <summary>Function ids by name.</summary>
    public IReadOnlyDictionary<string, string> FunctionIds { get; }

    /// <summary>The backend over this app's connection.</summary>
    public GrpcBackend Backend { get; }

    /// <summary>Registers the app; an ephemeral one heartbeats and prints its containers' output here until disposed.</summary>
    /// <param name="connection">The control plane.</param>
    /// <param name="appName">The app's name.</param>
    /// <param name="kind">Ephemeral or deployed.</param>
    /// <param name="entrypoints">The functions' generated entrypoints; null for a client-only app (a host's connection), with no functions and so no workers to launch.</param>
    /// <param name="uploadArtifact">
    /// True for a standalone control plane: the build output is uploaded as an artifact, which the server runs. False for
    /// the embedded one in this process, which runs this executable.
    /// </param>
    /// <param name="reportedToken">The token to put in <c>modal run</c>'s run report: that of a control plane this process embeds, else none.</param>
    /// <param name="cancellationToken">Stops the registration.</param>
    public static async Task<AppSession> CreateAsync(
        GrpcConnection connection, string appName, AppKind kind, IReadOnlyList<IFunctionEntrypoint>? entrypoints, bool uploadArtifact,
        Hosting.RunReport.Token? reportedToken, CancellationToken cancellationToken)
    {
        var launch = entrypoints is null
            ? null
            : uploadArtifact
                ? await ArtifactUploader.UploadAsync(connection, entrypoints, cancellationToken).ConfigureAwait(false)
                : LaunchSpecs.ForEntrypoints(entrypoints);
        if (launch is not null && kind == AppKind.Deployed && Hosting.DeployCommand.ImageToDeploy() is { } image)
        {
            // modal deploy built this version's image (PublishContainer) and pushed it; the server records it.
            launch.Image = image;
        }
        // One key for every attempt: a retry after a lost reply gets the app (or deployed version) the first attempt made.
        var request = new AppCreateRequest { Name = appName, Kind = kind, Launch = launch, IdempotencyKey = GrpcBackend.NewIdempotencyKey() };
        entrypoints ??= [];
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entrypoint in entrypoints)
        {
            foreach (var function in entrypoint.Functions)
            {
                if (names.Add(function.Name))
                {
                    request.Functions.Add(FunctionSpecs.From(function));
                }
            }
        }
        var created = await connection.CallAsync((e, o) => e.Client.AppCreateAsync(request, o), cancellationToken).ConfigureAwait(false);
        if (request.Functions.Count > 0)
        {
            Hosting.RunReport.Append(created.AppId, appName, kind == AppKind.Deployed, connection.ServerUrl, reportedToken); // for `modal run`'s progress
        }
        return new AppSession(connection, appName, created, kind == AppKind.Ephemeral, entrypoints.SelectMany(entrypoint => entrypoint.Functions),
            launch?.ArtifactDigest ?? string.Empty);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _heartbeat.ConfigureAwait(false);
        if (_ephemeral)
        {
            try
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await _connection.CallAsync((e, o) => e.Client.AppStopAsync(new AppStopRequest { AppId = AppId }, o), limit.Token)
                    .ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is ModalException or OperationCanceledException)
            {
                // The server may be gone already; its heartbeat timeout stops the app then.
            }
        }
        if (_logs is not null)
        {
            await _logs.DisposeAsync().ConfigureAwait(false);
        }
        _stop.Dispose();
    }

    /// <summary>One heartbeat, riding out failures until <paramref name="cancellationToken"/> fires.</summary>
    public async Task ProbeAsync(CancellationToken cancellationToken)
        => await _connection.CallAsync((e, o) => e.Client.AppHeartbeatAsync(new AppHeartbeatRequest { AppId = AppId }, o), cancellationToken)
            .ConfigureAwait(false);

    private async Task HeartbeatAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(s_heartbeatInterval, stop).ConfigureAwait(false);
                await _connection.CallAsync((e, o) => e.Client.AppHeartbeatAsync(new AppHeartbeatRequest { AppId = AppId }, o), stop)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (ModalException)
            {
                // A missed heartbeat is retried on the next tick; the server tolerates a few.
            }
        }
    }
}
