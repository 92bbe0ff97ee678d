using Grpc.Core;
using Modal.Api;
using Modal.Server.Blobs;
using Modal.Server.Scheduling;

namespace Modal.Server.Services;

/// <summary>The caller-facing RPCs: apps, calls, outputs, blobs.</summary>
internal sealed class ModalClientService(AppOperations apps, CallOperations calls, BlobStore blobs, ArgumentValidator validator, LogHub logs)
    : ModalClient.ModalClientBase
{
    private static string Require(string value, string field, string rpc) =>
        string.IsNullOrEmpty(value) ? throw Errors.Invalid($"{rpc} needs {field}.") : value;

    public override Task<AppCreateResponse> AppCreate(AppCreateRequest request, ServerCallContext context) =>
        apps.CreateAppAsync(request);

    public override async Task<AppHeartbeatResponse> AppHeartbeat(AppHeartbeatRequest request, ServerCallContext context)
    {
        await apps.HeartbeatAsync(Require(request.AppId, "app_id", "AppHeartbeat")).ConfigureAwait(false);
        return new AppHeartbeatResponse();
    }

    public override async Task<AppStopResponse> AppStop(AppStopRequest request, ServerCallContext context)
    {
        await apps.StopAsync(Require(request.AppId, "app_id", "AppStop")).ConfigureAwait(false);
        return new AppStopResponse();
    }

    public override Task<AppListResponse> AppList(AppListRequest request, ServerCallContext context) => apps.ListAsync();

    public override Task<FunctionListResponse> FunctionList(FunctionListRequest request, ServerCallContext context)
        => apps.ListFunctionsAsync(request.AppName);

    public override async Task AppGetLogs(AppGetLogsRequest request, IServerStreamWriter<LogLine> responseStream, ServerCallContext context)
    {
        string appId = Require(request.AppId, "app_id", "AppGetLogs");
        if (await apps.IsStoppedAsync(appId).ConfigureAwait(false))
        {
            return; // Nothing more will be written.
        }
        var reader = logs.Subscribe(appId, context.CancellationToken);
        try
        {
            await foreach (var line in reader.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(line, context.CancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The subscriber went away.
        }
    }

    public override Task<FunctionGetResponse> FunctionGet(FunctionGetRequest request, ServerCallContext context) =>
        apps.GetFunctionByNameAsync(Require(request.AppName, "app_name", "FunctionGet"), Require(request.FunctionName, "function_name", "FunctionGet"));

    public override async Task<FunctionMapResponse> FunctionMap(FunctionMapRequest request, ServerCallContext context)
    {
        using var activity = ServerMetrics.ActivitySource.StartActivity("FunctionMap");
        validator.ValidateInputs(await apps.GetSpecAsync(Require(request.FunctionId, "function_id", "FunctionMap")).ConfigureAwait(false),
            request.PipelinedInputs);
        return await calls.MapAsync(request, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<FunctionPutInputsResponse> FunctionPutInputs(FunctionPutInputsRequest request, ServerCallContext context)
    {
        var call = await calls.GetCallAsync(Require(request.FunctionCallId, "function_call_id", "FunctionPutInputs")).ConfigureAwait(false);
        validator.ValidateInputs(await apps.GetSpecAsync(call.FunctionId).ConfigureAwait(false), request.Inputs);
        return await calls.PutInputsAsync(request).ConfigureAwait(false);
    }

    public override Task<FunctionGetOutputsResponse> FunctionGetOutputs(FunctionGetOutputsRequest request, ServerCallContext context)
    {
        Require(request.FunctionCallId, "function_call_id", "FunctionGetOutputs");
        return calls.GetOutputsAsync(request, context.CancellationToken);
    }

    public override async Task FunctionCallGetDataOut(FunctionCallGetDataOutRequest request, IServerStreamWriter<DataChunk> responseStream,
        ServerCallContext context)
    {
        Require(request.FunctionCallId, "function_call_id", "FunctionCallGetDataOut");
        try
        {
            await calls.StreamDataOutAsync(request, responseStream, context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The caller went away.
        }
    }

    public override async Task<FunctionCallCancelResponse> FunctionCallCancel(FunctionCallCancelRequest request, ServerCallContext context)
    {
        await calls.CancelAsync(Require(request.FunctionCallId, "function_call_id", "FunctionCallCancel"), request.TerminateContainers)
            .ConfigureAwait(false);
        return new FunctionCallCancelResponse();
    }

    public override Task<FunctionCallFromIdResponse> FunctionCallFromId(FunctionCallFromIdRequest request, ServerCallContext context) =>
        calls.FromIdAsync(Require(request.FunctionCallId, "function_call_id", "FunctionCallFromId"));

    public override Task<FunctionGetCallGraphResponse> FunctionGetCallGraph(FunctionGetCallGraphRequest request, ServerCallContext context) =>
        calls.GetCallGraphAsync(Require(request.FunctionCallId, "function_call_id", "FunctionGetCallGraph"));

    public override Task<FunctionStatsResponse> FunctionGetCurrentStats(FunctionGetCurrentStatsRequest request, ServerCallContext context) =>
        apps.GetStatsAsync(Require(request.FunctionId, "function_id", "FunctionGetCurrentStats"));

    public override async Task<FunctionUpdateKeepWarmResponse> FunctionUpdateKeepWarm(FunctionUpdateKeepWarmRequest request,
        ServerCallContext context)
    {
        await apps.UpdateKeepWarmAsync(Require(request.FunctionId, "function_id", "FunctionUpdateKeepWarm"), request.WarmPoolSize)
            .ConfigureAwait(false);
        return new FunctionUpdateKeepWarmResponse();
    }

    public override async Task<BlobPutResponse> BlobPut(IAsyncStreamReader<BlobChunk> requestStream, ServerCallContext context) =>
        new() { BlobId = await blobs.PutAsync(requestStream, context.CancellationToken).ConfigureAwait(false) };

    public override Task BlobGet(BlobGetRequest request, IServerStreamWriter<BlobChunk> responseStream, ServerCallContext context) =>
        blobs.GetAsync(Require(request.BlobId, "blob_id", "BlobGet"), responseStream, context.CancellationToken);
}
