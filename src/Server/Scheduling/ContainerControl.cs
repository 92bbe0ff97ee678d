using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Modal.Api;
using Modal.Server.Launching;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

/// <summary>
/// The containers this replica launched: launches run asynchronously, outside any lock, each with a startup deadline
/// of its own (the lease starts at the worker's hello); exits are reported to the store, which re-queues what the
/// container held. A worker killed before its hello is an infrastructure failure, relaunched at once; one that exits on
/// its own before its hello, or reports a startup error, counts toward InitFailure and makes the function's launches back off.
/// </summary>
internal sealed class ContainerControl(
    IControlStore store, IContainerLauncher launcher, WorkerSessions sessions, ControlPlaneOptions options, LogHub logs, ServerMetrics metrics,
    ILogger<ContainerControl> logger)
{
    private static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, LocalContainer> _local = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LaunchBackoff> _backoff = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<string> _serverUrl = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _nudge = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _disposing;

    private sealed class LocalContainer(string id, string functionId)
    {
        public string Id { get; } = id;
        public string FunctionId { get; } = functionId;
        public long LaunchedTick { get; } = Environment.TickCount64;
        public IContainerHandle? Handle { get; set; }
        public bool StopRequested { get; set; }
        public bool KillRequested { get; set; }
        public string? LastStderrLine { get; set; }
    }

    private sealed class LaunchBackoff
    {
        public int Failures;
        public long NextLaunchTick;
    }

    /// <summary>This replica's id in the store (leader lease, containers it launched).</summary>
    public string ReplicaId { get; } = "rp-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Sets the URL workers connect to; launches wait for it (a restart must not launch with an empty URL).</summary>
    public void SetServerUrl(string url) => _serverUrl.TrySetResult(url);

    /// <summary>Completes when the URL is known.</summary>
    public Task<string> ServerUrl => _serverUrl.Task;

    /// <summary>Wakes the leader loop soon.</summary>
    public void Nudge() => Interlocked.Exchange(ref _nudge, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    public Task NextNudge => Volatile.Read(ref _nudge).Task;

    public int LocalCount => _local.Count;

    /// <summary>Whether the function may launch now (not backing off after failed starts).</summary>
    public bool MayLaunch(string functionId) =>
        !_backoff.TryGetValue(functionId, out var backoff) || Environment.TickCount64 >= Volatile.Read(ref backoff.NextLaunchTick);

    /// <summary>Starts one worker for a function; returns at once, the launch goes on in the background.</summary>
    public async Task LaunchAsync(FunctionLoad function)
    {
        if (_disposing)
        {
            return;
        }
        string url = await ServerUrl.ConfigureAwait(false);
        var spec = FunctionSpec.Parser.ParseFrom(function.Spec);
        var launch = WorkerLaunchSpec.Parser.ParseFrom(function.Launch);
        string token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var container = new LocalContainer(Core.Ids.New("ct-"), function.FunctionId);
        _local[container.Id] = container;
        try
        {
            await store.RegisterContainerAsync(new NewContainer(container.Id, function.FunctionId, function.AppId, WorkerSessions.HashToken(token),
                ReplicaId, (long)options.StartupTimeout.TotalMilliseconds)).ConfigureAwait(false);
        }
        catch
        {
            _local.TryRemove(container.Id, out _);
            throw;
        }
        metrics.ContainersLaunched.Add(1);
        // The app's variables, then the function's own (a variant's `environment`), then the worker's Modal variables.
        var environment = new Dictionary<string, string>(launch.Environment, StringComparer.Ordinal);
        foreach (var (name, value) in spec.Environment)
        {
            environment[name] = value;
        }
        environment["MODAL_WORKER"] = "1";
        environment["MODAL_SERVER_URL"] = await ServerUrlListAsync(url).ConfigureAwait(false);
        environment["MODAL_CONTAINER_ID"] = container.Id;
        environment["MODAL_CONTAINER_TOKEN"] = token;
        environment["MODAL_APP_ID"] = function.AppId;
        environment["MODAL_APP_NAME"] = function.AppName;
        environment["MODAL_FUNCTION_NAME"] = spec.Name;
        var request = new ContainerLaunchRequest(container.Id, token, function.AppName, spec.Name, launch.Executable, [.. launch.Arguments],
            launch.WorkingDirectory, environment, launch.Image,
            (text, isStderr) =>
            {
                if (isStderr)
                {
                    container.LastStderrLine = text;
                }
                logs.Publish(function.AppId, [new LogLine { FunctionName = spec.Name, ContainerId = container.Id, Stderr = isStderr, Text = text }]);
            })
        {
            Cpu = spec.Cpu,
            MemoryMb = spec.MemoryMb,
            Gpu = spec.Gpu,
            StartupTimeout = options.StartupTimeout,
            ArtifactDigest = launch.ArtifactDigest,
            Entrypoint = launch.Entrypoint,
        };
        _ = Task.Run(() => RunAsync(container, request, spec.Name));
    }

    /// <summary>This replica's URL first, then the other live replicas', so that the worker fails over to them.</summary>
    private async Task<string> ServerUrlListAsync(string own)
    {
        var urls = new List<string> { own };
        try
        {
            urls.AddRange((await store.ListReplicaUrlsAsync().ConfigureAwait(false)).Where(u => u != own));
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException)
        {
            logger.LogDebug(exception, "Could not list the other replicas; the worker gets this one only");
        }
        return string.Join(',', urls);
    }

    private async Task RunAsync(LocalContainer container, ContainerLaunchRequest request, string functionName)
    {
        IContainerHandle handle;
        try
        {
            handle = await launcher.LaunchAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            logger.LogWarning(exception, "Could not launch a worker for {Function}", functionName);
            logs.Publish((await store.GetContainerAsync(container.Id).ConfigureAwait(false))?.AppId ?? "", [new LogLine
            {
                FunctionName = functionName, ContainerId = container.Id, Stderr = true,
                Text = $"Could not launch a worker for {functionName}: {exception.Message}",
            }]);
            await EndedAsync(container, $"the worker could not be started: {exception.Message}", startFailure: true)
                .ConfigureAwait(false);
            return;
        }
        bool stopNow;
        lock (container)
        {
            container.Handle = handle;
            stopNow = container.StopRequested || _disposing;
        }
        if (stopNow)
        {
            await handle.StopAsync().ConfigureAwait(false);
        }
        int exitCode = await handle.Exited.ConfigureAwait(false);
        bool killed;
        lock (container)
        {
            killed = container.StopRequested || container.KillRequested;
        }
        // 128 + 9 (SIGKILL) and 128 + 15 (SIGTERM), or a negative code: a signal, not the worker's own failure.
        bool bySignal = exitCode is 137 or 143 or < 0;
        string reason = $"the worker exited with code {exitCode}" + (container.LastStderrLine is { } line ? $"; its last error line: {line}" : "");
        await EndedAsync(container, reason, startFailure: !killed && !bySignal).ConfigureAwait(false);
        await handle.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>A container this replica launched is gone: the store re-queues what it held; failed starts back off.</summary>
    private async Task EndedAsync(LocalContainer container, string reason, bool startFailure)
    {
        _local.TryRemove(container.Id, out _);
        sessions.Forget(container.Id);
        ContainerEnded ended;
        try
        {
            ended = await store.EndContainerAsync(container.Id, reason, options.InternalFailureRetries).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            // The leader's lease reaper ends it once its lease or startup deadline passes.
            logger.LogWarning(exception, "Could not record the end of container {Container}", container.Id);
            return;
        }
        if (ended.Known && ended.Requeued > 0)
        {
            metrics.ContainersFailed.Add(1);
        }
        if (ended.Known && !ended.SaidHello)
        {
            if (startFailure)
            {
                // The worker's own failure (a crash loop, a missing entrypoint): later launches of the function back off.
                var backoff = _backoff.GetOrAdd(container.FunctionId, _ => new LaunchBackoff());
                int failures = Interlocked.Increment(ref backoff.Failures);
                long delay = Math.Min((long)options.MaxLaunchBackoff.TotalMilliseconds, 250L << Math.Min(failures, 10));
                Volatile.Write(ref backoff.NextLaunchTick, Environment.TickCount64 + delay);
                int inARow = await store.RecordStartupFailureAsync(container.FunctionId, reason).ConfigureAwait(false);
                logger.LogWarning("A worker for function {Function} failed to start ({Failures} in a row): {Reason}", container.FunctionId, inARow, reason);
            }
            else
            {
                // Killed from outside (a signal, the OOM killer, a stop): not the function's fault, so its other launches
                // must not wait; the autoscaler relaunches at once, and each launch is paced by the worker's own startup.
                logger.LogInformation("A worker for function {Function} was stopped {Seconds:F1} s after its launch, before it connected ({Reason}); relaunching",
                    container.FunctionId, (Environment.TickCount64 - container.LaunchedTick) / 1000.0, reason);
            }
        }
        else if (ended.SaidHello)
        {
            _backoff.TryRemove(container.FunctionId, out _);
            logger.LogInformation("Container {Container} of function {Function} ended {Seconds:F1} s after its launch ({Reason}); {Requeued} inputs re-queued",
                container.Id, container.FunctionId, (Environment.TickCount64 - container.LaunchedTick) / 1000.0, reason, ended.Requeued);
        }
        Nudge();
    }

    /// <summary>Stops a container this replica launched (no-op for others): killed at once, or after a grace period.</summary>
    public void StopLocal(string containerId, bool kill)
    {
        if (!_local.TryGetValue(containerId, out var container))
        {
            return;
        }
        IContainerHandle? handle;
        bool first;
        lock (container)
        {
            first = !container.StopRequested && !container.KillRequested;
            container.StopRequested = true;
            container.KillRequested |= kill;
            handle = container.Handle;
        }
        if (handle is null)
        {
            return; // RunAsync stops it once the launcher returns.
        }
        if (kill)
        {
            _ = handle.StopAsync();
        }
        else if (first)
        {
            _ = Task.Delay(GracefulStopTimeout).ContinueWith(_ => handle.StopAsync(), TaskScheduler.Default);
        }
    }

    /// <summary>Applies stop and kill requests recorded in the store to the containers this replica launched.</summary>
    public void ApplyStopRequests(IReadOnlyList<ContainerRow> rows)
    {
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            known.Add(row.Id);
            if (row.StopRequested && _local.ContainsKey(row.Id))
            {
                StopLocal(row.Id, row.KillRequested);
            }
        }
        foreach (var container in _local.Values)
        {
            // Its row is gone (ended by the reaper, or the app was deleted): nothing may run without one.
            if (container.Handle is not null && !known.Contains(container.Id))
            {
                StopLocal(container.Id, kill: true);
            }
        }
    }

    /// <summary>Kills every container this replica launched and waits for them to exit.</summary>
    public async Task StopAllAsync()
    {
        _disposing = true;
        var handles = new List<IContainerHandle>();
        foreach (var container in _local.Values)
        {
            lock (container)
            {
                container.StopRequested = true;
                if (container.Handle is { } handle)
                {
                    handles.Add(handle);
                }
            }
        }
        await Task.WhenAll(handles.Select(async h =>
        {
            try
            {
                await h.StopAsync().ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                logger.LogWarning(exception, "A worker did not stop cleanly");
            }
        })).ConfigureAwait(false);
    }
}
