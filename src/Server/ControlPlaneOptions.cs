using Microsoft.Extensions.Logging;
using Modal.Server.Launching;

namespace Modal.Server;

/// <summary>How a <see cref="ControlPlane"/> is started.</summary>
public sealed record ControlPlaneOptions
{
    /// <summary>
    /// The SQLite file (WAL mode), or a PostgreSQL URL <c>postgresql://USER[:PASSWORD]@HOST:PORT/DB</c> (several replicas may
    /// share one database); null keeps state in a temporary SQLite file deleted at dispose, for ephemeral embedded runs.
    /// </summary>
    public string? DatabasePath { get; init; }

    /// <summary>The address Kestrel listens on; loopback by default.</summary>
    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>The port to listen on; 0 picks a free port.</summary>
    public int Port { get; init; }

    /// <summary>When set, callers must present it in the metadata <c>x-modal-token-id</c>.</summary>
    public string? TokenId { get; init; }

    /// <summary>When set, callers must present it in the metadata <c>x-modal-token-secret</c>.</summary>
    public string? TokenSecret { get; init; }

    /// <summary>
    /// A standalone control plane (<c>modal server</c>): every caller needs a token from the store (an admin token is created
    /// at first start when none is configured), apps run only stored artifacts (never a client's command line), process
    /// workers run sandboxed with a minimal environment, and listening beyond loopback needs TLS or <see cref="Insecure"/>.
    /// False for the embedded control plane, which lives in its caller's process and runs the caller's executable.
    /// </summary>
    public bool Standalone { get; init; }

    /// <summary>A PEM certificate (chain) to serve HTTPS with; needs <see cref="TlsKeyPath"/>.</summary>
    public string? TlsCertificatePath { get; init; }

    /// <summary>The PEM private key of <see cref="TlsCertificatePath"/>.</summary>
    public string? TlsKeyPath { get; init; }

    /// <summary>Allows a standalone server to listen beyond loopback without TLS (tokens then cross the network in clear).</summary>
    public bool Insecure { get; init; }

    /// <summary>
    /// Directories a standalone server's sandboxed process workers may read and write (at the same path), for data they
    /// share with the host on purpose; everything else outside their private <c>/tmp</c> is read-only or hidden to them.
    /// </summary>
    public IReadOnlyList<string> WorkerWritablePaths { get; init; } = [];

    /// <summary>Where a standalone server writes <c>modal-admin.env</c> when it creates its admin token; null: beside the SQLite file, else the working directory.</summary>
    public string? AdminEnvDirectory { get; init; }

    /// <summary>Where blobs are kept; null uses a temporary directory removed on dispose.</summary>
    public string? BlobDirectory { get; init; }

    /// <summary>A container silent this long is considered dead and its inputs are re-queued.</summary>
    public TimeSpan LeaseTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>An ephemeral app without a heartbeat for this long is stopped.</summary>
    public TimeSpan AppHeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long finished calls' outputs are kept.</summary>
    public TimeSpan OutputRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How often expired outputs are swept.</summary>
    public TimeSpan RetentionSweepInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Re-queues of an input after its container died, apart from the function's retry policy.</summary>
    public int InternalFailureRetries { get; init; } = 8;

    /// <summary>How long a container may overrun an input's deadline before it is killed.</summary>
    public TimeSpan TimeoutGrace { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The most containers alive at once across all functions, whatever their requests. Null (the default) leaves the
    /// count to the launcher's capacity, except when that capacity is unbounded (Kubernetes without
    /// <see cref="CapacityCpu"/>), where it is <see cref="DefaultMaxContainersWhenUnbounded"/>.
    /// </summary>
    public int? MaxTotalContainers { get; init; }

    /// <summary>The count limit of a launcher whose capacity is unbounded, when <see cref="MaxTotalContainers"/> is null.</summary>
    public const int DefaultMaxContainersWhenUnbounded = 32;

    /// <summary>
    /// Multiplies the cores the launcher manages (this machine's, for local processes): the sum of the containers' <c>Cpu</c>
    /// requests may reach cores × this. 1 (the default) places no more than the machine has; more packs workers that are
    /// mostly idle or waiting on I/O more densely.
    /// </summary>
    public double CpuOvercommit { get; init; } = 1;

    /// <summary>Multiplies the memory the launcher manages, as <see cref="CpuOvercommit"/> does the cores (default 1).</summary>
    public double MemoryOvercommit { get; init; } = 1;

    /// <summary>The cores containers may request in all, replacing the launcher's own figure and <see cref="CpuOvercommit"/>; null: those.</summary>
    public double? CapacityCpu { get; init; }

    /// <summary>The MiB containers may request in all, replacing the launcher's own figure and <see cref="MemoryOvercommit"/>; null: those.</summary>
    public double? CapacityMemoryMb { get; init; }

    /// <summary>
    /// How many containers a function with a backlog gets before any has measured how busy it keeps its input slots; more
    /// come only while they are busy (<see cref="Launching.LauncherCapacity.ContainersBeforeUtilization"/>). Null (the
    /// default): the launcher's figure, this machine's cores for local processes and containers, unlimited for Kubernetes.
    /// </summary>
    public int? ContainersBeforeUtilization { get; init; }

    /// <summary>
    /// The most containers starting (launched, not yet connected) at once; the rest launch as these connect. Starts are
    /// CPU-bound for local processes, so the default is four per processor (at least 4): enough that kills of starting
    /// workers are spread over many, few enough that the first ones connect quickly. Raise it for launchers whose
    /// containers start elsewhere.
    /// </summary>
    public int MaxStartingContainers { get; init; } = Math.Max(4, 4 * Environment.ProcessorCount);

    /// <summary>The most inputs one function may have waiting; beyond it calls fail with RESOURCE_EXHAUSTED (retry later).</summary>
    public int MaxBacklogPerFunction { get; init; } = 1_000_000;

    /// <summary>The most argument bytes one function may have waiting; beyond it calls fail with RESOURCE_EXHAUSTED.</summary>
    public long MaxBacklogBytesPerFunction { get; init; } = 1L << 30;

    /// <summary>How long a launched worker has to say hello before it is killed and relaunched (its lease starts at hello).</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest wait before relaunching a function whose workers keep dying before their hello.</summary>
    public TimeSpan MaxLaunchBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an input may be held by a container that does not report it running before it is re-queued.</summary>
    public TimeSpan AssignmentGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long SYNC calls' outputs (RemoteAsync, Map) are kept after the call finished, for clients that reconnect.</summary>
    public TimeSpan SyncOutputRetention { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The leader lease: once-only duties move to another replica within this long after the leader dies.</summary>
    public TimeSpan LeaderLease { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the leader's duties (reaper, autoscaler, launches) run when nothing wakes them.</summary>
    public TimeSpan DutyInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often long polls re-read the store when no signal arrives (signals from other replicas may be lost).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often workers with free slots look for work when no signal arrives (batch waits, other replicas).</summary>
    public TimeSpan DispatchPollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The clock of the SQLite store and in-process timers (tests move it); PostgreSQL uses the database's clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>
    /// Starts workers; null uses <see cref="KubernetesLauncher"/> when <see cref="Kubernetes"/> is set, <see cref="PodmanLauncher"/>
    /// when <see cref="Podman"/> is, else <see cref="LocalProcessLauncher"/>.
    /// </summary>
    public IContainerLauncher? Launcher { get; init; }

    /// <summary>
    /// Runs workers as Kubernetes pods with these settings (<c>--launcher kubernetes</c>) when <see cref="Launcher"/> is null;
    /// the control plane owns that launcher and disposes it.
    /// </summary>
    public KubernetesLauncherOptions? Kubernetes { get; init; }

    /// <summary>
    /// Runs workers as podman containers from their app version's image (<c>--launcher podman</c>) when <see cref="Launcher"/>
    /// is null; needs <see cref="ImageRegistry"/>, since a version's image is what its containers run.
    /// </summary>
    public PodmanLauncherOptions? Podman { get; init; }

    /// <summary>
    /// The registry worker images are pushed to and pulled from (<c>host[:port][/prefix]</c>, <c>--registry</c>): <c>modal
    /// deploy</c> builds an app's image there, and a deploy that brings only an artifact gets an image built from it with
    /// buildah. Null: no images (the process launcher runs artifacts).
    /// </summary>
    public string? ImageRegistry { get; init; }

    /// <summary>The image worker images start from (the .NET runtime); null: <c>REGISTRY/modal/dotnet-runtime:VERSION</c> (<see cref="WorkerBaseImage"/>).</summary>
    public string? BaseImage { get; init; }

    /// <summary>
    /// The base image in force: <see cref="BaseImage"/>, else <c>REGISTRY/modal/dotnet-runtime:VERSION</c> in <see cref="ImageRegistry"/>
    /// with the .NET version this server runs on; null without a registry.
    /// </summary>
    public string? WorkerBaseImage => BaseImage ?? (ImageRegistry is { } registry ? $"{registry.TrimEnd('/')}/modal/dotnet-runtime:{Environment.Version}" : null);

    /// <summary>Adjusts logging after the default (warnings and above to the console); may clear the providers.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>Adds services to the control plane's host after its own (OpenTelemetry exporters, for example).</summary>
    public Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? ConfigureServices { get; init; }
}
