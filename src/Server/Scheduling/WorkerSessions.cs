using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Google.Protobuf;
using Modal.Api;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

/// <summary>A worker connected to this replica: who it is, and the input stream it reads assignments from.</summary>
internal sealed class WorkerSession(string containerId, byte[] tokenHash, string functionId, string appId)
{
    public string ContainerId { get; } = containerId;
    public byte[] TokenHash { get; } = tokenHash;
    public string FunctionId { get; } = functionId;
    public string AppId { get; } = appId;
    public string FunctionName { get; set; } = "";

    /// <summary>The open input stream's channel; null when none is open. Guarded by the session itself.</summary>
    public Channel<InputAssignment>? Stream { get; set; }

    /// <summary>Assignments the worker can take now (additive credits from its input stream).</summary>
    public int Credits { get; set; }
}

/// <summary>
/// The worker-facing operations of this replica. A session is a cache of the container's row (verified against its
/// stored token hash); all state lives in the store, so a worker may talk to any replica, and to a restarted one.
/// </summary>
internal sealed class WorkerSessions(IControlStore store, ControlPlaneOptions options, LogHub logs, ServerMetrics metrics)
{
    private readonly ConcurrentDictionary<string, WorkerSession> _sessions = new(StringComparer.Ordinal);
    private TaskCompletionSource _creditsAdded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Sessions held (workers seen on this replica that have not ended).</summary>
    public int Count => _sessions.Count;

    public static byte[] HashToken(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>The session presenting these credentials; UNAUTHENTICATED otherwise.</summary>
    public async Task<WorkerSession> AuthenticateAsync(string? containerId, string? token)
    {
        if (string.IsNullOrEmpty(containerId) || token is null)
        {
            throw Errors.Unauthenticated("Workers must present x-modal-container-id and x-modal-container-token as given by the launcher " +
                "in MODAL_CONTAINER_ID and MODAL_CONTAINER_TOKEN.");
        }
        if (!_sessions.TryGetValue(containerId, out var session))
        {
            var row = await store.GetContainerAsync(containerId).ConfigureAwait(false)
                ?? throw Errors.Unauthenticated($"Unknown container '{containerId}': it was never launched or it has ended.");
            var function = await store.GetFunctionAsync(row.FunctionId).ConfigureAwait(false);
            session = _sessions.GetOrAdd(containerId, new WorkerSession(row.Id, row.TokenHash, row.FunctionId, row.AppId)
            {
                FunctionName = function?.Name ?? "",
            });
        }
        if (!CryptographicOperations.FixedTimeEquals(HashToken(token), session.TokenHash))
        {
            throw Errors.Unauthenticated($"Wrong token for container '{containerId}'.");
        }
        return session;
    }

    /// <summary>Whether the credentials belong to a live container (workers may also call functions).</summary>
    public async Task<bool> IsContainerAsync(string? containerId, string? token)
    {
        try
        {
            await AuthenticateAsync(containerId, token).ConfigureAwait(false);
            return true;
        }
        catch (Grpc.Core.RpcException)
        {
            return false;
        }
    }

    /// <summary>Forgets a container that ended (its next request re-reads the store and is refused).</summary>
    public void Forget(string containerId)
    {
        if (_sessions.TryRemove(containerId, out var session))
        {
            lock (session)
            {
                session.Stream?.Writer.TryComplete();
                session.Stream = null;
                session.Credits = 0;
            }
        }
    }

    public async Task<ContainerHelloResponse> HelloAsync(WorkerSession session, ContainerHelloRequest request)
    {
        string? startupError = string.IsNullOrEmpty(request.StartupError) ? null : request.StartupError;
        // A worker that still initializes has not started yet: its hello leaves the function's failed starts counted.
        if (!await store.ContainerHelloAsync(session.ContainerId, startupError, (long)options.LeaseTimeout.TotalMilliseconds,
                started: startupError is null && !request.Initializing).ConfigureAwait(false))
        {
            Forget(session.ContainerId);
            throw Errors.Unauthenticated($"Container '{session.ContainerId}' has ended.");
        }
        var function = await store.GetFunctionAsync(session.FunctionId).ConfigureAwait(false)
            ?? throw Errors.NotFound($"The function of container '{session.ContainerId}' no longer exists.");
        if (startupError is not null)
        {
            int failures = await store.RecordStartupFailureAsync(session.FunctionId, startupError).ConfigureAwait(false);
            await store.EndContainerAsync(session.ContainerId, $"the worker failed to start: {startupError}", options.InternalFailureRetries)
                .ConfigureAwait(false);
            Forget(session.ContainerId);
            logs.Publish(session.AppId, [new LogLine
            {
                FunctionName = function.Name, ContainerId = session.ContainerId, Stderr = true,
                Text = $"A worker for {function.Name} failed to start ({failures} in a row): {startupError}",
            }]);
        }
        session.FunctionName = function.Name;
        return new ContainerHelloResponse
        {
            AppId = function.AppId, AppName = function.AppName, FunctionId = function.Id, Function = FunctionSpec.Parser.ParseFrom(function.Spec),
            AppVersion = function.Version,
            Parameters = Google.Protobuf.ByteString.CopyFrom(function.Variant?.Parameters ?? []),
        };
    }

    /// <summary>An input stream opened: assignments go to its channel from now on; credits start from zero.</summary>
    public ChannelReader<InputAssignment> OpenInputStream(WorkerSession session)
    {
        // Synchronous continuations: the stream's loop (ModalWorkerService.FunctionGetInputs) writes an assignment to the
        // worker on the thread that delivers it, when it is waiting for one, rather than after a hand-off to the thread pool.
        var channel = Channel.CreateUnbounded<InputAssignment>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });
        lock (session)
        {
            session.Stream?.Writer.TryComplete();
            session.Stream = channel;
            session.Credits = 0;
        }
        return channel.Reader;
    }

    public void CloseInputStream(WorkerSession session, ChannelReader<InputAssignment> reader)
    {
        lock (session)
        {
            if (session.Stream?.Reader == reader)
            {
                session.Stream.Writer.TryComplete();
                session.Stream = null;
                session.Credits = 0;
            }
        }
    }

    /// <summary>Credits are additive: each message grants that many more assignments.</summary>
    public void AddCredits(WorkerSession session, int freeSlots)
    {
        if (freeSlots <= 0)
        {
            return;
        }
        lock (session)
        {
            session.Credits = (int)Math.Min((long)session.Credits + freeSlots, 1_000_000);
        }
        Interlocked.Exchange(ref _creditsAdded, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Completes the next time a worker adds credits.</summary>
    public Task NextCredits => Volatile.Read(ref _creditsAdded).Task;

    /// <summary>Sessions with an open stream and free credits, by function.</summary>
    public IEnumerable<IGrouping<string, WorkerSession>> Hungry() =>
        _sessions.Values.Where(s => s.Stream is not null && s.Credits > 0).GroupBy(s => s.FunctionId, StringComparer.Ordinal);

    /// <summary>
    /// Takes one free slot of a worker of the function connected here (for claiming in the enqueue's transaction);
    /// null when none is free. Give it back with <see cref="ReturnCredit"/> when nothing was claimed.
    /// </summary>
    public string? ReserveCredit(string functionId)
    {
        foreach (var session in _sessions.Values)
        {
            if (session.FunctionId != functionId)
            {
                continue;
            }
            lock (session)
            {
                if (session.Stream is not null && session.Credits > 0)
                {
                    session.Credits--;
                    return session.ContainerId;
                }
            }
        }
        return null;
    }

    public void ReturnCredit(string containerId)
    {
        if (_sessions.TryGetValue(containerId, out var session))
        {
            AddCredits(session, 1);
        }
    }

    /// <summary>Hands a claimed assignment to its session's stream; false when the stream is gone (the heartbeat reconciles).</summary>
    public bool Deliver(string containerId, InputAssignment assignment, bool creditReserved = false)
    {
        if (!_sessions.TryGetValue(containerId, out var session))
        {
            return false;
        }
        Channel<InputAssignment>? stream;
        lock (session)
        {
            stream = session.Stream;
            if (stream is null)
            {
                return false;
            }
            if (!creditReserved)
            {
                session.Credits = Math.Max(0, session.Credits - 1);
            }
        }
        // Outside the lock: the write may run the stream's loop, and so the write to the worker, on this thread. A stream
        // closed meanwhile refuses it (its credits were reset with it).
        return stream.Writer.TryWrite(assignment);
    }

    public async Task PutOutputsAsync(WorkerSession session, FunctionPutOutputsRequest request)
    {
        var results = new List<AttemptResult>(request.Outputs.Count);
        foreach (var output in request.Outputs)
        {
            var result = output.Result ?? new FunctionResult { Status = InputStatus.Failure, ExceptionMessage = "The worker sent no result." };
            results.Add(new AttemptResult(output.InputId, output.Attempt, result.ToByteArray()));
        }
        var completed = await store.CompleteAsync(session.ContainerId, results).ConfigureAwait(false);
        metrics.Outputs.Add(completed.Finished);
    }

    public Task PutDataOutAsync(WorkerSession session, FunctionPutDataOutRequest request) =>
        store.AppendChunksAsync(session.ContainerId, request.InputId, request.Attempt,
            request.Chunks.Select(c => new ChunkRecord(c.Index, c.Data.ToByteArray())).ToList());

    public async Task<ContainerHeartbeatResponse> HeartbeatAsync(WorkerSession session, ContainerHeartbeatRequest request)
    {
        var result = await store.HeartbeatContainerAsync(session.ContainerId,
            request.ActiveInputs.Select(a => new ActiveAttempt(a.InputId, a.Attempt)).ToList(),
            (long)options.LeaseTimeout.TotalMilliseconds, (long)options.AssignmentGrace.TotalMilliseconds,
            request.HasSlotUtilization ? request.SlotUtilization : null).ConfigureAwait(false);
        if (!result.Known)
        {
            Forget(session.ContainerId);
        }
        var response = new ContainerHeartbeatResponse { Stop = result.Stop };
        response.CancelledInputIds.AddRange(result.CancelledInputIds);
        if (result.Stop)
        {
            lock (session)
            {
                session.Stream?.Writer.TryComplete();
            }
        }
        return response;
    }

    public void PublishLogs(WorkerSession session, IEnumerable<LogLine> lines) =>
        logs.Publish(session.AppId, lines.Select(line =>
        {
            var copy = line.Clone();
            copy.ContainerId = session.ContainerId;
            if (string.IsNullOrEmpty(copy.FunctionName))
            {
                copy.FunctionName = session.FunctionName;
            }
            return copy;
        }).ToList());
}
