using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Modal.Api;
using Modal.Server.Blobs;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

/// <summary>
/// The once-only duties, run by the replica that holds the leader lease in the store (it moves within a lease
/// period when that replica dies): the lease reaper (silent containers, missed startup deadlines), timeouts of
/// workers that do not stop, ephemeral apps without heartbeats, InitFailure, the autoscaler and launches, and
/// retention. Every replica also applies stop requests to the containers it launched itself.
/// </summary>
internal sealed class LeaderLoop(
    IControlStore store, ContainerControl containers, WorkerSessions sessions, AppOperations apps, BlobStore blobs, ControlPlaneOptions options,
    Placement placement, ILogger<LeaderLoop> logger) : BackgroundService
{
    private const int FailuresBeforeInitFailure = 3;
    private long _leaseRenewedTick = long.MinValue;
    private long _nextRetentionTick = Environment.TickCount64;
    private bool _leading;

    /// <summary>Whether this replica led at its last pass (for tests and logs).</summary>
    public bool IsLeader => _leading;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await containers.ServerUrl.WaitAsync(stoppingToken).ConfigureAwait(false);
        while (!stoppingToken.IsCancellationRequested)
        {
            var nudge = containers.NextNudge;
            try
            {
                await PassAsync().ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogError(exception, "A pass of the control plane's duties failed; the next one goes on");
            }
            try
            {
                await Task.WhenAny(nudge, Task.Delay(options.DutyInterval, stoppingToken)).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Leave the replica list, and the leader lease if held: another replica takes over at once.
            await store.ResignAsync(containers.ReplicaId).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            logger.LogDebug(exception, "Could not give up the leader lease; it expires by itself");
        }
    }

    /// <summary>One pass: renew or take the lease, then, as leader, every duty in turn.</summary>
    public async Task PassAsync()
    {
        long now = Environment.TickCount64;
        long ttlMs = (long)options.LeaderLease.TotalMilliseconds;
        if (!_leading || now - _leaseRenewedTick > ttlMs / 3)
        {
            await store.RegisterReplicaAsync(containers.ReplicaId, await containers.ServerUrl.ConfigureAwait(false), ttlMs).ConfigureAwait(false);
            bool leading = await store.TryLeadAsync(containers.ReplicaId, ttlMs).ConfigureAwait(false);
            if (leading != _leading)
            {
                logger.LogInformation(leading ? "Replica {Replica} leads" : "Replica {Replica} no longer leads", containers.ReplicaId);
            }
            _leading = leading;
            _leaseRenewedTick = now;
        }
        apps.EvictExpiredSpecs();
        var rows = await store.ListContainersAsync().ConfigureAwait(false);
        containers.ApplyStopRequests(rows);
        if (!_leading)
        {
            return;
        }
        await ReapAsync().ConfigureAwait(false);
        await store.StopSilentAppsAsync((long)options.AppHeartbeatTimeout.TotalMilliseconds).ConfigureAwait(false);
        var load = await store.ReadLoadAsync().ConfigureAwait(false);
        await FailInitFailuresAsync(load).ConfigureAwait(false);
        var plan = Autoscaler.Plan(load, await store.ListContainersAsync().ConfigureAwait(false), store.NowMs, placement,
            options.MaxStartingContainers, containers.MayLaunch);
        foreach (var (containerId, reason) in plan.Stops)
        {
            logger.LogDebug("Stopping container {Container}: {Reason}", containerId, reason);
            await store.RequestContainerStopAsync(containerId, kill: false).ConfigureAwait(false);
            containers.StopLocal(containerId, kill: false);
        }
        foreach (var (function, count) in plan.Launches)
        {
            for (int i = 0; i < count; i++)
            {
                await containers.LaunchAsync(function).ConfigureAwait(false);
            }
        }
        if (Environment.TickCount64 >= _nextRetentionTick)
        {
            _nextRetentionTick = Environment.TickCount64 + (long)options.RetentionSweepInterval.TotalMilliseconds;
            await SweepAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Ends containers whose lease or startup deadline passed, and times out inputs whose workers overran.</summary>
    private async Task ReapAsync()
    {
        foreach (string containerId in await store.FindExpiredContainersAsync().ConfigureAwait(false))
        {
            logger.LogWarning("Container {Container} missed its lease or startup deadline; its inputs are re-queued", containerId);
            containers.StopLocal(containerId, kill: true);
            sessions.Forget(containerId);
            await store.EndContainerAsync(containerId, $"it sent no heartbeat for {options.LeaseTimeout} (or did not start within " +
                $"{options.StartupTimeout})", options.InternalFailureRetries).ConfigureAwait(false);
        }
        foreach (var overrun in await store.FindOverrunInputsAsync((long)options.TimeoutGrace.TotalMilliseconds).ConfigureAwait(false))
        {
            await store.TimeOutAsync(overrun).ConfigureAwait(false);
            await store.RequestContainerStopAsync(overrun.ContainerId, kill: true).ConfigureAwait(false);
            containers.StopLocal(overrun.ContainerId, kill: true);
        }
    }

    /// <summary>Functions whose workers failed to start on their own 3 times in a row: their queued inputs fail with the reason.</summary>
    private async Task FailInitFailuresAsync(IReadOnlyList<FunctionLoad> load)
    {
        foreach (var function in load.Where(f => f.StartupFailures >= FailuresBeforeInitFailure && f.Ready > 0))
        {
            var spec = FunctionSpec.Parser.ParseFrom(function.Spec);
            await store.FailQueuedInputsAsync(function.FunctionId,
                Outcomes.InitFailure(spec.Name, function.StartupFailures, function.LastStartupError ?? "unknown")).ConfigureAwait(false);
        }
    }

    private async Task SweepAsync()
    {
        var result = await store.DeleteExpiredAsync((long)options.OutputRetention.TotalMilliseconds,
            (long)options.SyncOutputRetention.TotalMilliseconds, 1_000).ConfigureAwait(false);
        foreach (string blobId in result.BlobIds)
        {
            blobs.DeleteFile(blobId);
        }
        if (result.Calls + result.Apps + result.BlobIds.Count > 0)
        {
            logger.LogInformation("Retention deleted {Calls} calls, {Apps} apps and {Blobs} blobs", result.Calls, result.Apps, result.BlobIds.Count);
            containers.Nudge(); // More may be due: sweep again soon.
            _nextRetentionTick = Environment.TickCount64;
        }
    }
}
