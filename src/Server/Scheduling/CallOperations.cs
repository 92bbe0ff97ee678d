using Google.Protobuf;
using Grpc.Core;
using Modal.Api;
using Modal.Server.Core;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

/// <summary>
/// Calls: create with inputs (idempotent by key), add inputs, long-poll outputs, stream generator items, cancel, look up.
/// Every answer is read from the store after the transition committed; long polls wait on store signals and poll.
/// </summary>
internal sealed class CallOperations(
    IControlStore store, ControlPlaneOptions options, ContainerControl containers, WorkerSessions sessions, ServerMetrics metrics)
{
    private const int DefaultMaxOutputs = 1000;
    private const int MaxOutputsLimit = 10_000;

    private BacklogLimits Limits => new(options.MaxBacklogPerFunction, options.MaxBacklogBytesPerFunction);

    /// <summary>The longest a FunctionMap may wait for its output (wait_for_output_seconds).</summary>
    private const double MaxInlineWaitSeconds = 60;

    public async Task<FunctionMapResponse> MapAsync(FunctionMapRequest request, CancellationToken cancellationToken)
    {
        var call = new NewCall(Ids.NewCall(store.NowMs), request.FunctionId, (int)request.Invocation,
            string.IsNullOrEmpty(request.ParentInputId) ? null : request.ParentInputId, request.IsGeneratorCall);
        double? inlineWait = WaitsInline(request);
        // Taken before the input can reach a worker, so that its output cannot commit unseen.
        using var watch = inlineWait is null ? null : store.Signals.WatchCall(call.Id);
        // A warm worker of this replica with a free slot gets the input in the enqueue's own transaction.
        string? worker = request.PipelinedInputs.Count > 0 ? sessions.ReserveCredit(request.FunctionId) : null;
        Enqueued enqueued;
        try
        {
            enqueued = await store.CreateCallAsync(call, ToInputs(request.PipelinedInputs), Key(request.IdempotencyKey), Limits,
                worker is null ? null : new ContainerCredit(worker, 1)).ConfigureAwait(false);
        }
        catch
        {
            if (worker is not null)
            {
                sessions.ReturnCredit(worker);
            }
            throw;
        }
        bool delivered = false;
        foreach (var claimed in enqueued.Claimed ?? [])
        {
            // A stream that broke meanwhile: the heartbeat re-queues the input.
            delivered |= sessions.Deliver(claimed.ContainerId, Dispatcher.ToAssignment(claimed), creditReserved: true);
        }
        if (worker is not null && !delivered)
        {
            sessions.ReturnCredit(worker);
        }
        if (!enqueued.Replayed)
        {
            metrics.InputsQueued.Add(enqueued.InputIds.Count);
        }
        var response = new FunctionMapResponse { FunctionCallId = enqueued.CallId, FunctionId = enqueued.FunctionId };
        response.InputIds.Add(enqueued.InputIds);
        if (inlineWait is { } wait)
        {
            // RemoteAsync: the output in this response saves the caller a long-poll round trip. A retried request (same
            // idempotency key) finds the same call and waits again.
            var outputs = await GetOutputsAsync(
                new FunctionGetOutputsRequest { FunctionCallId = enqueued.CallId, TimeoutSeconds = wait, MaxOutputs = 1 }, cancellationToken,
                enqueued.Replayed ? null : watch).ConfigureAwait(false);
            response.Outputs.Add(outputs.Outputs);
        }
        return response;
    }

    /// <summary>How long a FunctionMap waits for its output: only a SYNC call of one input asks, for at most a minute.</summary>
    private static double? WaitsInline(FunctionMapRequest request) =>
        request.WaitForOutputSeconds > 0 && double.IsFinite(request.WaitForOutputSeconds) && request.Invocation == FunctionCallInvocation.Sync
            && request.PipelinedInputs.Count == 1 && !request.IsGeneratorCall
            ? Math.Min(request.WaitForOutputSeconds, MaxInlineWaitSeconds)
            : null;

    public async Task<FunctionPutInputsResponse> PutInputsAsync(FunctionPutInputsRequest request)
    {
        var enqueued = await store.PutInputsAsync(request.FunctionCallId, ToInputs(request.Inputs), request.Last, Key(request.IdempotencyKey), Limits)
            .ConfigureAwait(false);
        if (!enqueued.Replayed)
        {
            metrics.InputsQueued.Add(enqueued.InputIds.Count);
        }
        var response = new FunctionPutInputsResponse();
        response.InputIds.Add(enqueued.InputIds);
        return response;
    }

    private static string? Key(string key) => string.IsNullOrEmpty(key) ? null : key;

    private static List<NewInput> ToInputs(IReadOnlyList<FunctionInputItem> items)
    {
        var inputs = new List<NewInput>(items.Count);
        foreach (var item in items)
        {
            inputs.Add(new NewInput(Ids.New("in-"), item.Index, item.Arguments.ToByteArray()));
        }
        return inputs;
    }

    public async Task<CallRow> GetCallAsync(string callId) =>
        await store.GetCallAsync(callId).ConfigureAwait(false) ?? throw CallNotFound(callId);

    /// <summary>NOT_FOUND, or, for a call old enough that retention may have deleted it, the expired error.</summary>
    private RpcException CallNotFound(string callId) =>
        Ids.CallCreatedUnixMs(callId) is { } created
            && store.NowMs - created > Math.Min(options.OutputRetention.TotalMilliseconds, options.SyncOutputRetention.TotalMilliseconds)
            ? Errors.Expired(callId, options.OutputRetention)
            : Errors.NotFound($"Function call '{callId}' was not found.");

    public async Task<FunctionGetOutputsResponse> GetOutputsAsync(FunctionGetOutputsRequest request, CancellationToken cancellationToken) =>
        await GetOutputsAsync(request, cancellationToken, newCallWatch: null).ConfigureAwait(false);

    /// <summary>
    /// Outputs after the request's cursor, waiting for them up to its timeout. <paramref name="newCallWatch"/>: for a
    /// FunctionMap waiting for the output of the call it has just created, the watch it took before the input could reach a
    /// worker; the store holds no output of that call before the watch fires, and the outputs this process commits come with
    /// the signal rather than from a read.
    /// </summary>
    private async Task<FunctionGetOutputsResponse> GetOutputsAsync(FunctionGetOutputsRequest request, CancellationToken cancellationToken,
        StoreSignals.CallWatch? newCallWatch)
    {
        int max = request.MaxOutputs > 0 ? Math.Min(request.MaxOutputs, MaxOutputsLimit) : DefaultMaxOutputs;
        var timeout = TimeSpan.FromSeconds(Math.Clamp(double.IsFinite(request.TimeoutSeconds) ? request.TimeoutSeconds : 0, 0, 3600));
        long started = Environment.TickCount64;
        using var ownWatch = newCallWatch is null ? store.Signals.WatchCall(request.FunctionCallId) : null;
        var watch = newCallWatch ?? ownWatch!;
        bool read = newCallWatch is null;
        while (true)
        {
            if (!read)
            {
                // Nothing of a call this request has just created can be in the store before its watch fires.
                read = true;
                await watch.WaitAsync(Min(timeout, options.PollInterval), cancellationToken).ConfigureAwait(false);
                if (watch.CommittedAfter(request.AfterCursor) is { } committed)
                {
                    return ToResponse(committed.Rows.Take(max).ToList(), committed.Unfinished, request.AfterCursor);
                }
            }
            var page = await store.ReadOutputsAsync(request.FunctionCallId, request.AfterCursor, max).ConfigureAwait(false);
            if (!page.Known)
            {
                throw CallNotFound(request.FunctionCallId);
            }
            var remaining = timeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - started);
            if (page.Outputs.Count > 0 || remaining <= TimeSpan.Zero)
            {
                return ToResponse(page.Outputs, page.Unfinished, request.AfterCursor);
            }
            await watch.WaitAsync(Min(remaining, options.PollInterval), cancellationToken).ConfigureAwait(false);
        }
    }

    private static FunctionGetOutputsResponse ToResponse(IReadOnlyList<OutputRow> outputs, int unfinished, long afterCursor)
    {
        var response = new FunctionGetOutputsResponse
        {
            Cursor = outputs.Count > 0 ? outputs[^1].Sequence : afterCursor,
            UnfinishedInputs = unfinished,
        };
        foreach (var row in outputs)
        {
            response.Outputs.Add(new FunctionOutputItem
            {
                Index = row.Index, InputId = row.InputId, Result = FunctionResult.Parser.ParseFrom(row.Result),
            });
        }
        return response;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>
    /// Streams a generator call's items in index order from a start index, until its input ends. Items come from one
    /// attempt only: if the generator was re-run (its container died) after items of the earlier attempt reached the
    /// caller, the stream fails rather than mix or repeat items.
    /// </summary>
    public async Task StreamDataOutAsync(FunctionCallGetDataOutRequest request, IServerStreamWriter<DataChunk> writer,
        CancellationToken cancellationToken)
    {
        long next = Math.Max(0, request.StartIndex);
        int attempt = request.Attempt;
        using var watch = store.Signals.WatchCall(request.FunctionCallId);
        while (!cancellationToken.IsCancellationRequested)
        {
            var page = await store.ReadChunksAsync(request.FunctionCallId, next, 1000).ConfigureAwait(false);
            if (!page.Known)
            {
                throw CallNotFound(request.FunctionCallId);
            }
            if (page.Chunks.Count > 0 && next > 0 && attempt > 0 && page.Attempt != attempt)
            {
                throw Errors.FailedPrecondition(
                    $"Generator call {request.FunctionCallId} was re-run from the start (attempt {page.Attempt}) after its container failed, " +
                    $"and {next} items of attempt {attempt} had already been delivered; its items cannot be delivered twice. Call it again.");
            }
            bool wrote = false;
            foreach (var chunk in page.Chunks)
            {
                if (chunk.Index != next)
                {
                    break;
                }
                await writer.WriteAsync(new DataChunk { Index = chunk.Index, Data = Payload.Parser.ParseFrom(chunk.Data), Attempt = page.Attempt },
                    cancellationToken).ConfigureAwait(false);
                attempt = page.Attempt;
                next++;
                wrote = true;
            }
            if (wrote)
            {
                continue;
            }
            if (page.Finished)
            {
                var result = page.Result is { } bytes ? FunctionResult.Parser.ParseFrom(bytes) : null;
                if (result is null || result.Status != InputStatus.Success || next >= result.GeneratorCount)
                {
                    return;
                }
            }
            await watch.WaitAsync(options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task CancelAsync(string callId, bool terminateContainers)
    {
        var running = await store.CancelCallAsync(callId, terminateContainers).ConfigureAwait(false) ?? throw CallNotFound(callId);
        if (terminateContainers)
        {
            foreach (string containerId in running)
            {
                containers.StopLocal(containerId, kill: true);
            }
        }
        containers.Nudge();
    }

    public async Task<FunctionCallFromIdResponse> FromIdAsync(string callId)
    {
        var call = await GetCallAsync(callId).ConfigureAwait(false);
        return new FunctionCallFromIdResponse { FunctionId = call.FunctionId, FunctionName = call.FunctionName, InputCount = call.InputCount };
    }

    public async Task<FunctionGetCallGraphResponse> GetCallGraphAsync(string callId)
    {
        _ = await GetCallAsync(callId).ConfigureAwait(false);
        var response = new FunctionGetCallGraphResponse();
        foreach (var row in await store.ReadCallGraphAsync(callId).ConfigureAwait(false))
        {
            response.Inputs.Add(new CallGraphInput
            {
                InputId = row.InputId,
                FunctionCallId = row.CallId,
                FunctionName = row.FunctionName,
                Status = (InputStatus)row.Status,
                ParentInputId = row.CallId == callId ? "" : row.ParentInputId ?? "",
            });
        }
        return response;
    }
}
