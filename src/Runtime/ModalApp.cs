using Modal.Hosting;

namespace Modal;

/// <summary>
/// A running Modal app. While it is alive, the functions' handles (<c>MyType.Functions.MyMethod.RemoteAsync(...)</c>)
/// send their calls to it; disposing it stops the app and cancels its unfinished inputs.
/// </summary>
/// <example>
/// <code>
/// await using var app = await ModalApp.RunAsync(args);
/// Console.WriteLine(await Hello.Functions.Square.RemoteAsync(7));
/// </code>
/// </example>
public sealed class ModalApp : IAsyncDisposable
{
    private readonly IModalBackend _backend;
    private readonly IDisposable _installation;
    private int _disposed;

    private ModalApp(string name, ModalMode mode, IModalBackend backend, IDisposable installation)
    {
        Name = name;
        Mode = mode;
        _backend = backend;
        _installation = installation;
    }

    /// <summary>The app's name, as <c>Function.FromName</c> and <c>WithApp</c> refer to it.</summary>
    public string Name { get; }

    /// <summary>Where this app's calls run (<see cref="ModalMode.Auto"/> resolved to the mode chosen).</summary>
    public ModalMode Mode { get; }

    /// <summary>
    /// Starts an ephemeral app: its functions are callable until it is disposed. One app runs at a time per process.
    /// In a worker process (marked by the launcher's environment) it serves inputs instead and never returns.
    /// </summary>
    /// <param name="args">The process's command-line arguments; workers read their instructions from them.</param>
    /// <param name="options">Name, connection and mode; defaults to <see cref="ModalMode.Auto"/> and the assembly's app name.</param>
    /// <exception cref="NotSupportedException">The requested mode is not available in this build.</exception>
    /// <exception cref="InvalidOperationException">Another app is already running in this process.</exception>
    public static async Task<ModalApp> RunAsync(string[]? args = null, ModalAppOptions? options = null)
    {
        options ??= new ModalAppOptions();
        ModalLog.Configure(options);
        // HOOK(worker): the single place where a worker process diverts; WorkerMode.RunAsync never returns.
        if (WorkerMode.IsWorker)
        {
            await WorkerMode.RunAsync(args ?? [], options).ConfigureAwait(false);
            throw new InvalidOperationException("Worker mode returned; a worker process must exit when it stops serving.");
        }
        AppIdentity.EnsureEntrypointsRegistered();
        var name = AppIdentity.ResolveAppName(options);
        var mode = BackendFactory.ResolveMode(options);
        var backend = await BackendFactory.CreateAsync(mode, name, options, CancellationToken.None).ConfigureAwait(false);
        return await InstallAsync(name, mode, backend).ConfigureAwait(false);
    }

    /// <summary>
    /// Deploys this app's functions under <paramref name="name"/> so that <c>Function.FromName</c> and <c>WithApp</c>
    /// reach them after this process has exited.
    /// </summary>
    /// <param name="name">The deployed app's name; defaults to the app's own name.</param>
    /// <param name="options">Connection and mode.</param>
    /// <returns>A handle whose disposal disconnects this process; the deployed app keeps running.</returns>
    /// <exception cref="NotSupportedException">Deploying is not available in the chosen mode.</exception>
    public static async Task<ModalApp> DeployAsync(string? name = null, ModalAppOptions? options = null)
    {
        options ??= new ModalAppOptions();
        ModalLog.Configure(options);
        var mode = BackendFactory.ResolveMode(options);
        var appName = string.IsNullOrWhiteSpace(name) ? AppIdentity.ResolveAppName(options) : name;
        if (mode == ModalMode.InProcess)
        {
            throw new NotSupportedException(
                $"ModalApp.DeployAsync is not supported in ModalMode.InProcess: a deployed app must outlive this process. " +
                $"Use ModalApp.RunAsync to run '{appName}' in process, or set MODAL_SERVER_URL to deploy to a control plane.");
        }
        // On a standalone control plane the build output goes up as a content-addressed artifact (ArtifactUploader).
        var backend = await BackendFactory.CreateAsync(mode, appName, options, deploy: true, CancellationToken.None).ConfigureAwait(false);
        return await InstallAsync(appName, mode, backend).ConfigureAwait(false);
    }

    /// <summary>
    /// Starts an app the way <see cref="RunAsync"/> does, but never as a worker: the connection a host owns
    /// (<c>AddModal</c>), which is client-only.
    /// </summary>
    internal static async Task<ModalApp> ConnectAsync(ModalAppOptions options, CancellationToken cancellationToken)
    {
        ModalLog.Configure(options);
        var name = AppIdentity.ResolveAppName(options);
        var mode = BackendFactory.ResolveMode(options);
        var backend = await BackendFactory.CreateAsync(mode, name, options, cancellationToken).ConfigureAwait(false);
        return await InstallAsync(name, mode, backend).ConfigureAwait(false);
    }

    /// <summary>Where this app's calls go: the control plane's URL, <c>embedded at URL</c>, or <c>in process</c>.</summary>
    internal string Location => _backend is ControlPlaneBackend controlPlane ? controlPlane.ServerUrl : "this process";

    /// <summary>Whether the control plane answers one heartbeat before <paramref name="cancellationToken"/> fires.</summary>
    internal Task ProbeAsync(CancellationToken cancellationToken)
        => _backend is ControlPlaneBackend controlPlane ? controlPlane.ProbeAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>Makes the backend the one handles use; a backend that cannot be installed is disposed.</summary>
    private static async Task<ModalApp> InstallAsync(string name, ModalMode mode, IModalBackend backend)
    {
        IDisposable installation;
        try
        {
            installation = ModalBackend.Install(backend);
        }
        catch
        {
            await DisposeBackendAsync(backend).ConfigureAwait(false);
            throw;
        }
        return new ModalApp(name, mode, backend, installation);
    }

    /// <summary>Stops the app: unfinished inputs are cancelled and handles stop reaching it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _installation.Dispose();
        await DisposeBackendAsync(_backend).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override string ToString() => $"ModalApp {Name} ({Mode})";

    private static async ValueTask DisposeBackendAsync(IModalBackend backend)
    {
        switch (backend)
        {
            case IAsyncDisposable asyncDisposable:
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }
    }
}
