using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Modal.Api;
using Modal.Server.Launching;

namespace Modal.Server.Scheduling;

internal sealed partial class Scheduler
{
    private static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(5);
    private bool _disposing;

    /// <summary>Starts one worker for a function. Caller holds the lock.</summary>
    private void Launch(FunctionState function)
    {
        var app = function.App;
        string token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var container = new ContainerState(NewId("ct-"), token, function, NowMs);
        _containers[container.Id] = container;
        function.Containers.Add(container);
        _metrics.ContainersLaunched.Add(1);
        var environment = new Dictionary<string, string>(app.Launch.Environment, StringComparer.Ordinal)
        {
            ["MODAL_WORKER"] = "1",
            ["MODAL_SERVER_URL"] = ServerUrl,
            ["MODAL_CONTAINER_ID"] = container.Id,
            ["MODAL_CONTAINER_TOKEN"] = token,
            ["MODAL_APP_ID"] = app.Id,
            ["MODAL_APP_NAME"] = app.Name,
            ["MODAL_FUNCTION_NAME"] = function.Spec.Name,
        };
        var request = new ContainerLaunchRequest(container.Id, token, app.Name, function.Spec.Name, app.Launch.Executable,
            [.. app.Launch.Arguments], app.Launch.WorkingDirectory, environment, app.Launch.Image,
            (text, isStderr) =>
            {
                if (isStderr)
                {
                    container.LastStderrLine = text;
                }
                _logs.Publish(app.Id, [new LogLine
                {
                    FunctionName = function.Spec.Name, ContainerId = container.Id, Stderr = isStderr, Text = text,
                }]);
            });
        _ = StartAsync(container, request);
    }

    private async Task StartAsync(ContainerState container, ContainerLaunchRequest request)
    {
        IContainerHandle handle;
        try
        {
            handle = await _launcher.LaunchAsync(request, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            _logger.LogWarning(exception, "Could not launch a worker for {Function}", request.FunctionName);
            _logs.Publish(container.Function.App.Id, [new LogLine
            {
                FunctionName = request.FunctionName, ContainerId = container.Id, Stderr = true,
                Text = $"Could not launch a worker for {request.FunctionName}: {exception.Message}",
            }]);
            lock (_gate)
            {
                OnLaunchFailed(container.Function, exception.Message);
                OnExited(container, "the worker could not be started");
            }
            return;
        }
        bool stopNow;
        lock (_gate)
        {
            container.Handle = handle;
            stopNow = container.Stopping;
        }
        if (stopNow)
        {
            await handle.StopAsync().ConfigureAwait(false);
        }
        int exitCode = await handle.Exited.ConfigureAwait(false);
        lock (_gate)
        {
            if (!container.SaidHello && !container.Stopping)
            {
                OnLaunchFailed(container.Function, $"the worker exited with code {exitCode} before connecting" +
                    (container.LastStderrLine is { } line ? $"; its last error line: {line}" : ""));
            }
            OnExited(container, $"the worker exited with code {exitCode}");
        }
        await handle.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// A worker could not start or died before connecting: back off before the next launch, and after several failures
    /// in a row fail the function's queued inputs (INIT_FAILURE) rather than leave callers waiting. Caller holds the lock.
    /// </summary>
    private void OnLaunchFailed(FunctionState function, string reason)
    {
        const int FailuresBeforeInputsFail = 3;
        function.LaunchFailures++;
        function.NextLaunchMs = NowMs + Math.Min(30_000, 250L << Math.Min(function.LaunchFailures, 7));
        _logger.LogWarning("A worker for {Function} failed to start ({Failures} in a row): {Reason}", function.Spec.Name, function.LaunchFailures, reason);
        if (function.LaunchFailures < FailuresBeforeInputsFail)
        {
            return;
        }
        var result = new FunctionResult
        {
            Status = InputStatus.InitFailure,
            ExceptionType = "Modal.ContainerInitFailure",
            ExceptionMessage = $"Workers for {function.Spec.Name} failed to start {function.LaunchFailures} times in a row: {reason}",
        };
        foreach (var call in _calls.Values.Where(c => c.Function == function && c.Unfinished.Count > 0))
        {
            foreach (var input in call.Unfinished.Values.Where(i => i.Location is InputLocation.Ready or InputLocation.Delayed).ToList())
            {
                Finish(input, result);
            }
        }
        _ = Flush();
    }

    /// <summary>
    /// Stops a container: its input stream ends and its heartbeat answers stop; killed at once or after a grace period.
    /// Inputs it still runs are re-queued when it exits. Caller holds the lock.
    /// </summary>
    private void StopContainer(ContainerState container, bool kill, string reason)
    {
        if (container.Exited)
        {
            return;
        }
        if (!container.Stopping)
        {
            _logger.LogDebug("Stopping container {Container}: {Reason}", container.Id, reason);
        }
        container.Stopping = true;
        container.Assignments.Writer.TryComplete();
        var handle = container.Handle;
        if (handle is null)
        {
            return; // StartAsync stops it once the launcher returns.
        }
        if (kill)
        {
            _ = handle.StopAsync();
        }
        else
        {
            _ = Task.Delay(GracefulStopTimeout).ContinueWith(_ => handle.StopAsync(), TaskScheduler.Default);
        }
    }

    /// <summary>A container is gone: re-queue what it ran. Caller holds the lock.</summary>
    private void OnExited(ContainerState container, string reason)
    {
        if (container.Exited)
        {
            return;
        }
        container.Exited = true;
        container.Assignments.Writer.TryComplete();
        _containers.Remove(container.Id);
        container.Function.Containers.Remove(container);
        if (container.Running.Count > 0)
        {
            _metrics.ContainersFailed.Add(1);
            foreach (var input in container.Running.Values.ToList())
            {
                FailInternally(input, $"container {container.Id} stopped: {reason}");
            }
        }
        _ = Flush();
        Wake();
    }

    /// <summary>
    /// One pass of the background loop: retries whose delay passed, dead or silent containers, overrun deadlines,
    /// ephemeral apps without heartbeats, partial batches, and the autoscaler. Returns when it wants to run again.
    /// </summary>
    public TimeSpan Tick()
    {
        lock (_gate)
        {
            if (_disposing)
            {
                return TimeSpan.FromSeconds(1);
            }
            long now = NowMs;
            long leaseMs = (long)_options.LeaseTimeout.TotalMilliseconds;
            long graceMs = (long)_options.TimeoutGrace.TotalMilliseconds;
            foreach (var container in _containers.Values.ToList())
            {
                if (container.Exited)
                {
                    continue;
                }
                if (now - container.LastSeenMs > leaseMs && !container.Stopping)
                {
                    _metrics.ContainersFailed.Add(1);
                    _logger.LogWarning("Container {Container} was silent for {Lease}; its inputs are re-queued", container.Id, _options.LeaseTimeout);
                    foreach (var input in container.Running.Values.ToList())
                    {
                        FailInternally(input, $"container {container.Id} sent no heartbeat for {_options.LeaseTimeout}");
                    }
                    StopContainer(container, kill: true, "lease expired");
                    continue;
                }
                var overrun = container.Running.Values.Where(i => i.DeadlineMs > 0 && now > i.DeadlineMs + graceMs).ToList();
                if (overrun.Count > 0)
                {
                    foreach (var input in overrun)
                    {
                        Finish(input, new FunctionResult
                        {
                            Status = InputStatus.Timeout,
                            ExceptionType = "Modal.FunctionTimeout",
                            ExceptionMessage = $"Function {container.Function.Spec.Name} did not finish input {input.Id} within " +
                                $"its timeout of {container.Function.TimeoutSeconds} s, and its worker did not stop; the worker was killed.",
                        });
                    }
                    foreach (var input in container.Running.Values.ToList())
                    {
                        FailInternally(input, $"container {container.Id} was killed after overrunning a timeout");
                    }
                    _metrics.ContainersFailed.Add(1);
                    StopContainer(container, kill: true, "an input overran its timeout");
                }
            }
            foreach (var app in _apps.Values)
            {
                if (app.Kind == AppKind.Ephemeral && !app.Stopped && now - app.LastHeartbeatMs > (long)_options.AppHeartbeatTimeout.TotalMilliseconds)
                {
                    _logger.LogInformation("Ephemeral app {App} missed its heartbeats; stopping it", app.Name);
                    _ = StopApp(app, "the app missed its heartbeats");
                }
            }
            long nextMs = 200;
            foreach (var function in _functions.Values)
            {
                PromoteDelayed(function, now);
                Pump(function);
                Autoscale(function, now);
                if (function.Delayed.TryPeek(out _, out long due))
                {
                    nextMs = Math.Min(nextMs, Math.Max(1, due - now));
                }
                if (BatchDueInMs(function, now) is { } batchDue)
                {
                    nextMs = Math.Min(nextMs, Math.Max(1, batchDue));
                }
            }
            _ = Flush();
            return TimeSpan.FromMilliseconds(nextMs);
        }
    }

    /// <summary>
    /// desired = ceil(work / inputs per container) + buffer while busy, at least min containers and the warm pool,
    /// at most max containers; idle containers past the scaledown window stop. Caller holds the lock.
    /// </summary>
    private void Autoscale(FunctionState function, long now)
    {
        var spec = function.Spec;
        var live = function.Containers.Where(c => !c.Stopping && !c.Exited).ToList();
        if (function.App.Stopped)
        {
            foreach (var container in live)
            {
                StopContainer(container, kill: true, "the app stopped");
            }
            return;
        }
        if (string.IsNullOrEmpty(function.App.Launch.Executable))
        {
            return; // Nothing to launch: workers of this app connect on their own, or not at all.
        }
        int work = function.Backlog + function.RunningCount;
        int desired = work == 0 ? 0 : (work + function.InputsPerContainer - 1) / function.InputsPerContainer + Math.Max(0, spec.BufferContainers);
        desired = Math.Max(desired, Math.Max(spec.MinContainers, function.WarmPool));
        if (spec.MaxContainers > 0)
        {
            desired = Math.Min(desired, spec.MaxContainers);
        }
        if (live.Count < desired)
        {
            if (now < function.NextLaunchMs)
            {
                return;
            }
            int wanted = desired - live.Count;
            int room = _options.MaxTotalContainers - _containers.Values.Count(c => !c.Stopping && !c.Exited);
            if (room < wanted && work > 0)
            {
                room += StopIdleContainersOfOtherFunctions(function, wanted - room);
            }
            for (int i = 0; i < Math.Min(wanted, room); i++)
            {
                Launch(function);
            }
        }
        else if (live.Count > desired)
        {
            long windowMs = (long)function.ScaledownWindow.TotalMilliseconds;
            foreach (var container in live
                .Where(c => c.Running.Count == 0 && now - c.IdleSinceMs >= windowMs)
                .OrderBy(c => c.IdleSinceMs)
                .Take(live.Count - desired))
            {
                StopContainer(container, kill: false, "idle past the scaledown window");
            }
        }
    }

    /// <summary>
    /// At the total cap, a function with work takes the place of idle containers of other functions (beyond their
    /// minimum and warm pool) instead of waiting for their scaledown windows. Returns how many were stopped.
    /// Caller holds the lock.
    /// </summary>
    private int StopIdleContainersOfOtherFunctions(FunctionState needy, int count)
    {
        int stopped = 0;
        var idle = _containers.Values
            .Where(c => c.Function != needy && !c.Stopping && !c.Exited && c.Running.Count == 0 && c.Function.Backlog == 0)
            .OrderBy(c => c.IdleSinceMs)
            .ToList();
        foreach (var container in idle)
        {
            if (stopped == count)
            {
                break;
            }
            var owner = container.Function;
            int keep = Math.Max(owner.Spec.MinContainers, owner.WarmPool);
            if (owner.Containers.Count(c => !c.Stopping && !c.Exited) <= keep)
            {
                continue;
            }
            StopContainer(container, kill: false, $"making room for {needy.Spec.Name} at the limit of {_options.MaxTotalContainers} containers");
            stopped++;
        }
        return stopped;
    }

    /// <summary>Kills every container this control plane launched and waits for them to exit.</summary>
    public async Task StopAllContainersAsync()
    {
        List<IContainerHandle> handles;
        lock (_gate)
        {
            _disposing = true;
            handles = _containers.Values.Select(c => c.Handle).OfType<IContainerHandle>().ToList();
            foreach (var container in _containers.Values.ToList())
            {
                container.Stopping = true;
                container.Assignments.Writer.TryComplete();
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
                _logger.LogWarning(exception, "A worker did not stop cleanly");
            }
        })).ConfigureAwait(false);
    }
}
