using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Modal.Server.Artifacts;
using Modal.Server.Blobs;
using Modal.Server.Launching;
using Modal.Server.Scheduling;
using Modal.Server.Security;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server;

/// <summary>
/// The Modal control plane: a gRPC server (HTTP/2 cleartext) with its store, scheduler, autoscaler, launcher and blob
/// store. Embedded by the runtime, or run standalone by <c>modal server</c>.
/// </summary>
public sealed class ControlPlane : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IControlStore _store;
    private readonly BlobStore _blobs;
    private readonly ContainerControl _containers;
    private WorkerSocket? _workerSocket;
    private int _disposed;

    private ControlPlane(WebApplication app, IControlStore store, BlobStore blobs, ContainerControl containers, Uri url, string? adminEnvPath)
    {
        _app = app;
        _store = store;
        _blobs = blobs;
        _containers = containers;
        Url = url;
        AdminEnvPath = adminEnvPath;
    }

    /// <summary>Where callers and workers connect: <c>http://address:port</c> (HTTP/2 cleartext) or <c>https://</c> with TLS.</summary>
    public Uri Url { get; }

    /// <summary>The <c>modal-admin.env</c> file a standalone server wrote its new admin token to at this start; null when none was created.</summary>
    public string? AdminEnvPath { get; }

    /// <summary>The store, for tests.</summary>
    internal IControlStore Store => _store;

    /// <summary>The services, for tests.</summary>
    internal IServiceProvider Services => _app.Services;

    /// <summary>This replica's id (the leader lease names it).</summary>
    public string ReplicaId => _containers.ReplicaId;

    /// <summary>Whether this replica holds the leader lease (runs the autoscaler, launches, reaper, retention).</summary>
    public bool IsLeader => _app.Services.GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<LeaderLoop>().Single().IsLeader;

    /// <summary>The interceptors of every RPC, the first outermost: over HTTP/2 and in process (<see cref="InProcess.InProcessCallInvoker"/>) alike.</summary>
    internal static readonly Type[] InterceptorTypes = [typeof(ErrorInterceptor), typeof(ClientAuthInterceptor), typeof(TracingInterceptor)];

    /// <summary>
    /// A call invoker for a caller in this process (the embedded mode's app): its unary caller RPCs run here without a
    /// network, anything else goes over <paramref name="network"/>.
    /// </summary>
    internal Grpc.Core.CallInvoker InProcessClient(Grpc.Core.CallInvoker network) =>
        new InProcess.InProcessCallInvoker(_app.Services, network,
            _app.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping);

    /// <summary>Opens the store, rebuilds the queues from it, and starts listening.</summary>
    public static async Task<ControlPlane> StartAsync(ControlPlaneOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxStartingContainers < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxStartingContainers,
                $"{nameof(ControlPlaneOptions.MaxStartingContainers)} is {options.MaxStartingContainers}: no worker could ever start. Give it 1 or more.");
        }
        Placement.CheckOptions(options);
        var listenAddress = ParseAddress(options.ListenAddress);
        var certificate = Transport.LoadCertificate(options);
        Transport.CheckListen(options, listenAddress, certificate is not null);
        // A kubeconfig that cannot be used fails the start, not every launch.
        var kubernetes = options.Launcher is null && options.Kubernetes is { } kubernetesOptions
            ? KubernetesLauncher.LoadConfiguration(kubernetesOptions)
            : null;
        if (options.Launcher is null && options.Podman is not null && options.Kubernetes is not null)
        {
            throw new ArgumentException("Podman and Kubernetes are two launchers: set one of ControlPlaneOptions.Podman and Kubernetes.");
        }
        // Podman workers have no network: they reach this server over a Unix domain socket mounted into their containers.
        var workerSocket = options.Launcher is null && options.Podman is { } podman ? WorkerSocket.Create(podman) : null;
        IControlStore store;
        try
        {
            store = await StoreFactory.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // A store that cannot be opened ends the start: the socket's directory goes with it.
            workerSocket?.Dispose();
            throw;
        }
        var blobs = new BlobStore(store, options.BlobDirectory ?? DefaultBlobDirectory(options));
        try
        {
            // No appsettings file is read for reloads: a reloadable configuration watches the content root (by default the
            // current directory) recursively, and every write of the store (or a worker's) beneath it would cost the
            // control plane an inotify event to process.
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
            {
                Args = ["--hostBuilder:reloadConfigOnChange=false"],
                ContentRootPath = AppContext.BaseDirectory,
            });
            // Warnings and above on the console unless the host configures otherwise (it may clear the providers).
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
            options.ConfigureLogging?.Invoke(builder.Logging);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                kestrel.Listen(listenAddress, options.Port, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    if (certificate is not null)
                    {
                        listen.UseHttps(certificate);
                    }
                });
                if (workerSocket is not null)
                {
                    kestrel.ListenUnixSocket(workerSocket.Path, listen => listen.Protocols = HttpProtocols.Http2);
                }
                kestrel.Limits.MaxRequestBodySize = null;
            });
            builder.Services.AddGrpc(grpc =>
            {
                grpc.MaxReceiveMessageSize = 64 * 1024 * 1024;
                grpc.MaxSendMessageSize = 64 * 1024 * 1024;
                grpc.EnableDetailedErrors = false;
                foreach (var interceptor in InterceptorTypes)
                {
                    grpc.Interceptors.Add(interceptor);
                }
            });
            builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, NoHostLifetime>();
            builder.Services.AddSingleton(options);
            builder.Services.AddSingleton(store);
            builder.Services.AddSingleton(blobs);
            var artifacts = new ArtifactStore(store, Path.Combine(blobs.Directory, "artifacts"));
            builder.Services.AddSingleton(artifacts);
            if (kubernetes is not null)
            {
                // Pods run the app version's image, never a stored artifact; the host disposes the launcher (its pod watch).
                builder.Services.AddSingleton<IContainerLauncher>(services => new KubernetesLauncher(
                    options.Kubernetes!, kubernetes, services.GetRequiredService<ILogger<KubernetesLauncher>>()));
            }
            else if (workerSocket is not null)
            {
                // Containers run the app version's image, never a stored artifact.
                builder.Services.AddSingleton<IContainerLauncher>(new PodmanLauncher(options.Podman!, workerSocket.Path));
            }
            else
            {
                builder.Services.AddSingleton<IContainerLauncher>(new ArtifactLauncher(
                    options.Launcher ?? new LocalProcessLauncher(options.Standalone ? Sandbox(options, blobs, artifacts) : null), artifacts));
            }
            builder.Services.AddSingleton(services => Placement.For(services.GetRequiredService<IContainerLauncher>(), options));
            builder.Services.AddSingleton<TokenAuthority>();
            builder.Services.AddSingleton<AccessControl>();
            builder.Services.AddSingleton<Images.WorkerImages>();
            builder.Services.AddSingleton<LaunchPolicy>();
            builder.Services.AddSingleton<LogHub>();
            builder.Services.AddSingleton<ServerMetrics>();
            builder.Services.AddSingleton<WorkerSessions>();
            builder.Services.AddSingleton<ContainerControl>();
            builder.Services.AddSingleton<AppOperations>();
            builder.Services.AddSingleton<FunctionVariants>();
            builder.Services.AddSingleton<CallOperations>();
            builder.Services.AddSingleton<ArgumentValidator>();
            builder.Services.AddHostedService<Dispatcher>();
            builder.Services.AddHostedService<LeaderLoop>();
            options.ConfigureServices?.Invoke(builder.Services);
            var app = builder.Build();
            string? adminEnvPath = await app.Services.GetRequiredService<TokenAuthority>().BootstrapAsync().ConfigureAwait(false);
            app.Use(UndecodableRequests.RewriteAsync);
            app.MapGrpcService<ModalClientService>();
            app.MapGrpcService<ModalWorkerService>();
            var containers = app.Services.GetRequiredService<ContainerControl>();
            var metrics = app.Services.GetRequiredService<ServerMetrics>();
            var sessions = app.Services.GetRequiredService<WorkerSessions>();
            var apps = app.Services.GetRequiredService<AppOperations>();
            metrics.ObserveHeld("worker_sessions", () => sessions.Count);
            metrics.ObserveHeld("local_containers", () => containers.LocalCount);
            metrics.ObserveHeld("cached_specs", () => apps.CachedSpecs);
            metrics.ObserveHeld("watched_calls", () => store.Signals.WatchedCalls);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            workerSocket?.Started();
            string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            // Workers on this machine reach a wildcard listener through loopback.
            var url = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal));
            // Launches wait for this: a restart with saved inputs must not launch workers before the URL is known.
            containers.SetServerUrl(url.ToString().TrimEnd('/'));
            containers.Nudge();
            return new ControlPlane(app, store, blobs, containers, url, adminEnvPath) { _workerSocket = workerSocket };
        }
        catch
        {
            workerSocket?.Dispose();
            blobs.Dispose();
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// A standalone server on a SQLite file keeps its blobs and artifacts beside it (<c>modal.db</c> → <c>modal-blobs/</c>), so
    /// that they survive a restart as the database does; otherwise a temporary directory.
    /// </summary>
    private static string? DefaultBlobDirectory(ControlPlaneOptions options) =>
        options.Standalone && options.DatabasePath is { } database && !StoreFactory.IsPostgres(database)
            ? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(database))!, Path.GetFileNameWithoutExtension(database) + "-blobs")
            : null;

    /// <summary>What a standalone server's process workers may not see (its database and blobs) and must see (artifacts, .NET).</summary>
    private static ProcessSandbox Sandbox(ControlPlaneOptions options, BlobStore blobs, ArtifactStore artifacts)
    {
        var hidden = new List<string> { blobs.Directory };
        if (options.DatabasePath is { } database && !StoreFactory.IsPostgres(database))
        {
            hidden.Add(Path.GetDirectoryName(Path.GetFullPath(database))!);
        }
        if (ProcessSandbox.Bubblewrap() is null)
        {
            Console.Error.WriteLine("WARNING: bubblewrap (bwrap) is not installed: process workers run with a minimal environment but " +
                "unsandboxed, and can read what this server's user can. Install it (apt-get install bubblewrap).");
        }
        var visible = new List<string> { artifacts.Root };
        if (ProcessSandbox.DotnetRoot() is { } dotnet)
        {
            visible.Add(dotnet);
        }
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (options.TlsCertificatePath is { } certificate)
        {
            // Workers reach this server over loopback with its own certificate: trusting it as a CA works for a
            // self-signed certificate; for one issued by a private CA the workers need that CA (MODAL_CA_CERT of the server).
            string trusted = Path.GetFullPath(System.Environment.GetEnvironmentVariable("MODAL_CA_CERT") is { Length: > 0 } ca ? ca : certificate);
            environment["MODAL_CA_CERT"] = trusted;
            visible.Add(trusted);
        }
        return new ProcessSandbox(hidden, visible, environment, options.WorkerWritablePaths);
    }

    private static System.Net.IPAddress ParseAddress(string address) => address switch
    {
        "localhost" => System.Net.IPAddress.Loopback,
        "*" or "" => System.Net.IPAddress.Any,
        _ => System.Net.IPAddress.TryParse(address, out var parsed)
            ? parsed
            : throw new ArgumentException($"ListenAddress '{address}' is not an IP address (e.g. 127.0.0.1, 0.0.0.0, ::1) or 'localhost'."),
    };

    /// <summary>Stops every container this control plane launched, then the server, then closes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _containers.StopAllAsync().ConfigureAwait(false);
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        await _app.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
        _blobs.Dispose();
        _workerSocket?.Dispose();
    }
}
