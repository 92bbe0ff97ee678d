using Microsoft.Extensions.Logging;
using Modal.Server.Launching;

namespace Modal.Server;

/// <summary>How a <see cref="ControlPlane"/> is started.</summary>
public sealed record ControlPlaneOptions
{
    /// <summary>The SQLite file (WAL mode); null keeps everything in memory for ephemeral embedded runs.</summary>
    public string? DatabasePath { get; init; }

    /// <summary>The address Kestrel listens on; loopback by default.</summary>
    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>The port to listen on; 0 picks a free port.</summary>
    public int Port { get; init; }

    /// <summary>When set, callers must present it in the metadata <c>x-modal-token-id</c>.</summary>
    public string? TokenId { get; init; }

    /// <summary>When set, callers must present it in the metadata <c>x-modal-token-secret</c>.</summary>
    public string? TokenSecret { get; init; }

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

    /// <summary>The most containers alive at once across all functions (protects small machines).</summary>
    public int MaxTotalContainers { get; init; } = 32;

    /// <summary>The most inputs one function may have waiting; beyond it calls fail with RESOURCE_EXHAUSTED (retry later).</summary>
    public int MaxBacklogPerFunction { get; init; } = 1_000_000;

    /// <summary>Starts workers; null uses <see cref="LocalProcessLauncher"/>.</summary>
    public IContainerLauncher? Launcher { get; init; }

    /// <summary>Adjusts logging after the default (warnings and above to the console); may clear the providers.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
}
