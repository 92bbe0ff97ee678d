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
    /// The version <see cref="DeployAsync"/> made (1, 2, 3... per app name; <c>Function.FromName(app, name, version: n)</c>
    /// pins it); null for an app started with <see cref="RunAsync"/>.
    /// </summary>
    public int? Version => _backend is ControlPlaneBackend { Session.Version: > 0 and var version } ? version : null;

    /// <summary>The SHA-256 digest of the uploaded build output a deployed version's workers run; null when none was uploaded.</summary>
    public string? ArtifactDigest => _backend is ControlPlaneBackend { Session.ArtifactDigest: { Length: > 0 } digest } ? digest : null;

    /// <summary>
    /// The worker image a deployed version's containers run, by digest (<c>REGISTRY/REPOSITORY@sha256:…</c>): the one
    /// <c>modal deploy</c> built with the SDK's <c>PublishContainer</c>, or the one the control plane built from the uploaded
    /// build output; null when the control plane names no registry (<c>--registry</c>) and so keeps no images.
    /// </summary>
    public string? Image => _backend is ControlPlaneBackend { Session.Image: { Length: > 0 } image } ? image : null;

    /// <summary>
    /// The environment variable that makes <see cref="RunAsync"/> deploy instead of run (what <c>modal deploy</c> sets):
    /// <c>1</c> deploys under the app's own name, any other value is the name. The process prints the version and exits.
    /// </summary>
    public const string DeployVariable = "MODAL_DEPLOY";

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
        if (Environment.GetEnvironmentVariable(DeployVariable) is { Length: > 0 } deploy)
        {
            // `modal deploy`: this process deploys its own build output and exits; it never runs the rest of Main.
            Environment.Exit(await DeployCommand.RunAsync(deploy, options).ConfigureAwait(false));
        }
        AppIdentity.EnsureEntrypointsRegistered();
        var name = AppIdentity.ResolveAppName(options);
        var mode = BackendFactory.ResolveMode(options);
        var backend = await BackendFactory.CreateAsync(mode, name, options, CancellationToken.None).ConfigureAwait(false);
        return await InstallAsync(name, mode, backend).ConfigureAwait(false);
    }

    /// <summary>
    /// Deploys this app's functions under <paramref name="name"/> so that <c>Function.FromName</c> and <c>WithApp</c>
    /// reach them after this process has exited. The build output of this process (<see cref="AppContext.BaseDirectory"/>)
    /// is uploaded as a content-addressed artifact and becomes the app's next version (<see cref="Version"/>): calls
    /// created from now on run on it, calls created before finish on the version they were bound to. A control plane
    /// with a registry (<c>--registry</c>) builds the version's worker image from that artifact with buildah (the same
    /// layout, entrypoint and labels as <c>modal deploy</c>'s <c>PublishContainer</c> image) and records it by digest
    /// (<see cref="Image"/>).
    /// </summary>
    /// <param name="name">The deployed app's name; defaults to the app's own name.</param>
    /// <param name="options">Connection and mode.</param>
    /// <returns>A handle whose disposal disconnects this process; the deployed app keeps running.</returns>
    /// <exception cref="NotSupportedException">
    /// Deploying is not available in the chosen mode: <see cref="ModalMode.InProcess"/> and <see cref="ModalMode.Embedded"/>
    /// (whose control plane ends with this process) cannot keep a deployed app.
    /// </exception>
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
        if (mode == ModalMode.Embedded)
        {
            throw new NotSupportedException(
                $"ModalApp.DeployAsync cannot deploy '{appName}' in ModalMode.Embedded: the embedded control plane ends with this process, " +
                $"and the deployed app with it. Start one that outlives it ('modal server') and set {BackendFactory.ServerUrlVariable} " +
                "(or ModalAppOptions.ServerUrl) to its address, then deploy again (or run 'modal deploy <project>').");
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

    /// <summary>The app's id on its control plane; null in process.</summary>
    internal string? AppId => _backend is ControlPlaneBackend controlPlane ? controlPlane.Session.AppId : null;

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
