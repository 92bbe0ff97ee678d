using Grpc.Core;
using Modal.Api;
using Modal.Server.Scheduling;

namespace Modal.Server.Services;

/// <summary>The worker-facing RPCs; each checks the container's id and token.</summary>
internal sealed class ModalWorkerService(WorkerSessions sessions, ArgumentValidator validator, Security.AccessControl access, Store.IControlStore store)
    : ModalWorker.ModalWorkerBase
{
    public const string ContainerIdHeader = "x-modal-container-id";
    public const string ContainerTokenHeader = "x-modal-container-token";

    private Task<WorkerSession> AuthenticateAsync(ServerCallContext context) =>
        sessions.AuthenticateAsync(context.RequestHeaders.GetValue(ContainerIdHeader), context.RequestHeaders.GetValue(ContainerTokenHeader));

    public override async Task<ContainerHelloResponse> ContainerHello(ContainerHelloRequest request, ServerCallContext context)
    {
        var container = await AuthenticateAsync(context).ConfigureAwait(false);
        if (request.StartupError.Length > MaxLogLineLength)
        {
            throw Errors.Invalid($"ContainerHello: startup_error has {request.StartupError.Length} characters; at most {MaxLogLineLength}.");
        }
        return await sessions.HelloAsync(container, request).ConfigureAwait(false);
    }

    public override async Task FunctionGetInputs(IAsyncStreamReader<InputCredit> requestStream, IServerStreamWriter<InputAssignment> responseStream,
        ServerCallContext context)
    {
        var container = await AuthenticateAsync(context).ConfigureAwait(false);
        var assignments = sessions.OpenInputStream(container);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var credits = Task.Run(async () =>
        {
            try
            {
                while (await requestStream.MoveNext(stop.Token).ConfigureAwait(false))
                {
                    sessions.AddCredits(container, requestStream.Current.FreeSlots);
                }
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                // The stream ended.
            }
            catch (IOException)
            {
                // The worker went away; its lease decides what happens to its inputs.
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var assignment in assignments.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(assignment, context.CancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The worker went away.
        }
        finally
        {
            sessions.CloseInputStream(container, assignments);
            await stop.CancelAsync().ConfigureAwait(false);
            await credits.ConfigureAwait(false);
        }
    }

    public override async Task<FunctionPutOutputsResponse> FunctionPutOutputs(FunctionPutOutputsRequest request, ServerCallContext context)
    {
        var container = await AuthenticateAsync(context).ConfigureAwait(false);
        RequestLimits.Count(request.Outputs.Count, RequestLimits.MaxInputsPerRequest, "outputs", "FunctionPutOutputs");
        for (int i = 0; i < request.Outputs.Count; i++)
        {
            var output = request.Outputs[i];
            RequestLimits.Id(output.InputId, $"outputs[{i}].input_id", "FunctionPutOutputs");
            RequestLimits.Range(output.Attempt, 0, int.MaxValue, $"outputs[{i}].attempt", "FunctionPutOutputs");
            if (output.Result is { } result)
            {
                RequestLimits.Enum(result.Status, $"outputs[{i}].result.status", "FunctionPutOutputs");
            }
            validator.ValidateResult(output.Result?.Data, $"The result of input {output.InputId}");
            await AttachResultAsync(container, output.InputId, output.Result?.Data).ConfigureAwait(false);
        }
        await sessions.PutOutputsAsync(container, request).ConfigureAwait(false);
        return new FunctionPutOutputsResponse();
    }

    public override async Task<FunctionPutDataOutResponse> FunctionPutDataOut(FunctionPutDataOutRequest request, ServerCallContext context)
    {
        var container = await AuthenticateAsync(context).ConfigureAwait(false);
        RequestLimits.Id(request.InputId, "input_id", "FunctionPutDataOut");
        RequestLimits.Count(request.Chunks.Count, RequestLimits.MaxInputsPerRequest, "chunks", "FunctionPutDataOut");
        foreach (var chunk in request.Chunks)
        {
            RequestLimits.Range(chunk.Index, 0, long.MaxValue, "chunks[].index", "FunctionPutDataOut");
            validator.ValidateResult(chunk.Data, $"Generator item {chunk.Index} of input {request.InputId}");
            await AttachResultAsync(container, request.InputId, chunk.Data).ConfigureAwait(false);
        }
        await sessions.PutDataOutAsync(container, request).ConfigureAwait(false);
        return new FunctionPutDataOutResponse();
    }

    /// <summary>
    /// A result sent as a blob: the worker must be able to read it (it uploaded it), and it becomes readable by whoever may
    /// read the input's call. Results for inputs this container does not hold are dropped by the store's fencing anyway.
    /// </summary>
    private async Task AttachResultAsync(WorkerSession container, string inputId, Payload? data)
    {
        if (data?.DataCase != Payload.DataOneofCase.BlobId)
        {
            return;
        }
        var worker = new Security.Principal(Security.PrincipalKind.Worker, container.ContainerId, AppId: container.AppId, ContainerId: container.ContainerId);
        if (!await access.MayReadBlobAsync(worker, data.BlobId).ConfigureAwait(false))
        {
            throw Errors.NotFound($"Blob '{data.BlobId}' was not found. Upload it with BlobPut first.");
        }
        if (await store.GetInputOwnerAsync(inputId).ConfigureAwait(false) is { } owner && owner.Holder == container.ContainerId)
        {
            await store.GrantBlobAsync(data.BlobId, "out:" + owner.CallId).ConfigureAwait(false);
        }
    }

    public override async Task<ContainerHeartbeatResponse> ContainerHeartbeat(ContainerHeartbeatRequest request, ServerCallContext context)
    {
        var container = await AuthenticateAsync(context).ConfigureAwait(false);
        RequestLimits.Count(request.ActiveInputs.Count, RequestLimits.MaxInputsPerRequest, "active_inputs", "ContainerHeartbeat");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < request.ActiveInputs.Count; i++)
        {
            RequestLimits.Id(request.ActiveInputs[i].InputId, $"active_inputs[{i}].input_id", "ContainerHeartbeat");
            if (!seen.Add(request.ActiveInputs[i].InputId))
            {
                throw Errors.Invalid($"ContainerHeartbeat: active_inputs[{i}].input_id {request.ActiveInputs[i].InputId} appears twice; report each running input once.");
            }
            RequestLimits.Range(request.ActiveInputs[i].Attempt, 0, int.MaxValue, $"active_inputs[{i}].attempt", "ContainerHeartbeat");
        }
        if (request.HasSlotUtilization && !(request.SlotUtilization is >= 0 and <= 1))
        {
            throw Errors.Invalid($"ContainerHeartbeat: slot_utilization is {request.SlotUtilization}; it must be a share from 0 to 1 (or absent).");
        }
        return await sessions.HeartbeatAsync(container, request).ConfigureAwait(false);
    }

    /// <summary>The most log lines one request carries, and the longest line kept.</summary>
    public const int MaxLogLines = 10_000;
    public const int MaxLogLineLength = 64 * 1024;

    public override async Task<ContainerLogsResponse> ContainerLogs(ContainerLogsRequest request, ServerCallContext context)
    {
        var container = await AuthenticateAsync(context).ConfigureAwait(false);
        RequestLimits.Count(request.Lines.Count, MaxLogLines, "lines", "ContainerLogs");
        for (int i = 0; i < request.Lines.Count; i++)
        {
            if (request.Lines[i].Text.Length > MaxLogLineLength)
            {
                throw Errors.Invalid($"ContainerLogs: lines[{i}].text has {request.Lines[i].Text.Length} characters; a line has at most {MaxLogLineLength}.");
            }
        }
        sessions.PublishLogs(container, request.Lines);
        return new ContainerLogsResponse();
    }
}
