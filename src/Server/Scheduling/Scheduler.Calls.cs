using Google.Protobuf;
using Grpc.Core;
using Modal.Api;
using Modal.Server.Services;
using Modal.Server.Store;

namespace Modal.Server.Scheduling;

internal sealed partial class Scheduler
{
    private const int DefaultMaxOutputs = 1000;
    private const int MaxOutputsLimit = 10_000;
    private static readonly TimeSpan CallIdleEviction = TimeSpan.FromMinutes(10);

    public async Task<FunctionMapResponse> MapAsync(FunctionMapRequest request)
    {
        var response = new FunctionMapResponse();
        Task written;
        lock (_gate)
        {
            var function = GetFunction(request.FunctionId);
            if (function.App.Stopped)
            {
                throw Errors.FailedPrecondition($"App '{function.App.Name}' was stopped; function {function.Spec.Name} cannot be called.");
            }
            CheckBacklog(function, request.PipelinedInputs.Count);
            var call = new CallState(NewId("fc-"), function, request.Invocation, request.IsGeneratorCall,
                string.IsNullOrEmpty(request.ParentInputId) ? null : request.ParentInputId);
            _calls[call.Id] = call;
            var callWrite = _store.InsertCallAsync(new CallRecord(call.Id, function.Id, (int)call.Invocation, call.ParentInputId,
                call.IsGenerator, NowMs, Expired: false));
            written = Task.WhenAll(callWrite, AddInputs(call, request.PipelinedInputs, response.InputIds));
            response.FunctionCallId = call.Id;
        }
        await written.ConfigureAwait(false);
        return response;
    }

    public async Task<FunctionPutInputsResponse> PutInputsAsync(FunctionPutInputsRequest request)
    {
        var response = new FunctionPutInputsResponse();
        Task written;
        lock (_gate)
        {
            var call = GetCall(request.FunctionCallId);
            if (call.Function.App.Stopped)
            {
                throw Errors.FailedPrecondition($"App '{call.Function.App.Name}' was stopped; no more inputs are accepted.");
            }
            if (call.Cancelled)
            {
                throw Errors.FailedPrecondition($"Function call {call.Id} was cancelled; no more inputs are accepted.");
            }
            CheckBacklog(call.Function, request.Inputs.Count);
            written = AddInputs(call, request.Inputs, response.InputIds);
        }
        await written.ConfigureAwait(false);
        return response;
    }

    /// <summary>The function call id of a call, for validating its inputs outside the lock.</summary>
    public string GetCallFunctionId(string callId)
    {
        lock (_gate)
        {
            return GetCall(callId).Function.Id;
        }
    }

    private void CheckBacklog(FunctionState function, int adding)
    {
        if (adding > 0 && function.Backlog + adding > _options.MaxBacklogPerFunction)
        {
            throw Errors.Exhausted($"Function {function.Spec.Name} already has {function.Backlog} inputs waiting (the limit is " +
                $"{_options.MaxBacklogPerFunction}); retry later.");
        }
    }

    /// <summary>Queues inputs and persists them (one write for the whole batch). Caller holds the lock.</summary>
    private Task AddInputs(CallState call, IReadOnlyList<FunctionInputItem> items, ICollection<string> inputIds)
    {
        if (items.Count == 0)
        {
            return Task.CompletedTask;
        }
        long now = NowMs;
        var records = new List<InputRecord>(items.Count);
        foreach (var item in items)
        {
            var input = new InputState(NewId("in-"), call, item.Index, item.Arguments);
            call.Unfinished[input.Id] = input;
            call.InputCount++;
            MakeReady(input, now);
            inputIds.Add(input.Id);
            records.Add(new InputRecord(input.Id, call.Id, call.Function.Id, input.Index, item.Arguments.ToByteArray(),
                (int)InputStatus.Pending, input.Attempt, 0, 0, call.ParentInputId));
        }
        _metrics.InputsQueued.Add(items.Count);
        call.LastActivityMs = now;
        Pump(call.Function);
        Wake();
        return _store.InsertInputsAsync(records);
    }

    public async Task<FunctionGetOutputsResponse> GetOutputsAsync(FunctionGetOutputsRequest request, CancellationToken cancellationToken)
    {
        CallState call;
        lock (_gate)
        {
            call = GetCall(request.FunctionCallId);
        }
        int max = request.MaxOutputs > 0 ? Math.Min(request.MaxOutputs, MaxOutputsLimit) : DefaultMaxOutputs;
        var timeout = TimeSpan.FromSeconds(Math.Clamp(double.IsFinite(request.TimeoutSeconds) ? request.TimeoutSeconds : 0, 0, 3600));
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var changed = call.Changed;
            var rows = _store.ReadOutputs(call.Id, request.AfterCursor, max);
            var remaining = deadline - DateTime.UtcNow;
            if (rows.Count > 0 || remaining <= TimeSpan.Zero || call.Expired)
            {
                if (call.Expired)
                {
                    throw Errors.Expired(call.Id, _options.OutputRetention);
                }
                var response = new FunctionGetOutputsResponse { Cursor = rows.Count > 0 ? rows[^1].Cursor : request.AfterCursor };
                foreach (var row in rows)
                {
                    response.Outputs.Add(new FunctionOutputItem
                    {
                        Index = row.Index,
                        InputId = row.InputId,
                        Result = FunctionResult.Parser.ParseFrom(row.Result),
                    });
                }
                lock (_gate)
                {
                    response.UnfinishedInputs = call.Unfinished.Count;
                }
                return response;
            }
            // WaitAsync disposes its timer when the call changes first, so woken long polls leave no timers behind.
            try
            {
                await changed.WaitAsync(remaining, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The poll's time is up: answer with what there is.
            }
        }
    }

    /// <summary>
    /// Streams a generator call's items in index order from a start index, until the done marker. When the generator
    /// input ends without success the stream simply ends; the caller reads the failure with FunctionGetOutputs.
    /// </summary>
    public async Task StreamDataOutAsync(FunctionCallGetDataOutRequest request, IServerStreamWriter<DataChunk> writer,
        CancellationToken cancellationToken)
    {
        CallState call;
        lock (_gate)
        {
            call = GetCall(request.FunctionCallId);
        }
        long next = Math.Max(0, request.StartIndex);
        while (!cancellationToken.IsCancellationRequested)
        {
            var changed = call.Changed;
            bool wrote = false;
            foreach (var chunk in _store.ReadChunks(call.Id, next, 1000))
            {
                if (chunk.Index != next)
                {
                    break;
                }
                await writer.WriteAsync(new DataChunk { Index = chunk.Index, Data = Payload.Parser.ParseFrom(chunk.Data) }, cancellationToken)
                    .ConfigureAwait(false);
                next++;
                wrote = true;
            }
            if (wrote)
            {
                continue;
            }
            bool finished;
            lock (_gate)
            {
                finished = call.InputCount > 0 && call.Unfinished.Count == 0;
            }
            if (finished)
            {
                var outputs = _store.ReadOutputs(call.Id, 0, 1);
                if (outputs.Count > 0)
                {
                    var result = FunctionResult.Parser.ParseFrom(outputs[0].Result);
                    if (result.Status != InputStatus.Success || next >= result.GeneratorCount
                        || _store.ReadChunks(call.Id, next, 1).Count == 0)
                    {
                        return;
                    }
                    continue;
                }
            }
            if (call.Expired)
            {
                throw Errors.Expired(call.Id, _options.OutputRetention);
            }
            await Task.WhenAny(changed, Task.Delay(TimeSpan.FromSeconds(5), cancellationToken)).ConfigureAwait(false);
        }
    }

    public async Task CancelAsync(string callId, bool terminateContainers)
    {
        Task written;
        lock (_gate)
        {
            var call = GetCall(callId);
            call.Cancelled = true;
            var containers = new HashSet<ContainerState>();
            foreach (var input in call.Unfinished.Values.ToList())
            {
                if (input.Location == InputLocation.Running && input.Container is { } container)
                {
                    container.PendingCancellations.Add(input.Id);
                    containers.Add(container);
                }
                Finish(input, Terminated());
            }
            if (terminateContainers)
            {
                foreach (var container in containers)
                {
                    StopContainer(container, kill: true, $"function call {callId} was cancelled with terminate_containers");
                }
            }
            written = Flush();
        }
        await written.ConfigureAwait(false);
    }

    public FunctionCallFromIdResponse FromId(string callId)
    {
        lock (_gate)
        {
            var call = GetCall(callId);
            return new FunctionCallFromIdResponse
            {
                FunctionId = call.Function.Id,
                FunctionName = call.Function.Spec.Name,
                InputCount = call.InputCount,
            };
        }
    }

    public FunctionGetCallGraphResponse GetCallGraph(string callId)
    {
        lock (_gate)
        {
            _ = FindCall(callId) ?? throw Errors.NotFound($"Function call '{callId}' was not found.");
        }
        var response = new FunctionGetCallGraphResponse();
        foreach (var row in _store.ReadCallGraph(callId))
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

    /// <summary>Removes outputs of calls finished longer ago than the retention period.</summary>
    public async Task SweepExpiredAsync()
    {
        long cutoff = DateTimeOffset.UtcNow.Add(-_options.OutputRetention).ToUnixTimeMilliseconds();
        var expired = await _store.ExpireCallsAsync(cutoff).ConfigureAwait(false);
        lock (_gate)
        {
            foreach (string id in expired)
            {
                if (_calls.TryGetValue(id, out var call))
                {
                    call.Expired = true;
                    call.Signal();
                }
            }
            // Finished calls stay reachable through the store; memory only keeps the recently active ones.
            long idleCutoff = NowMs - (long)CallIdleEviction.TotalMilliseconds;
            foreach (var call in _calls.Values.Where(c => c.Unfinished.Count == 0 && c.LastActivityMs < idleCutoff).ToList())
            {
                _calls.Remove(call.Id);
            }
        }
    }
}
