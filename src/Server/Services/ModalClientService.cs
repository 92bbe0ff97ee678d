using Grpc.Core;
using Modal.Api;
using Modal.Server.Artifacts;
using Modal.Server.Blobs;
using Modal.Server.Scheduling;
using Modal.Server.Security;
using Modal.Server.Store;

namespace Modal.Server.Services;

/// <summary>
/// The caller-facing RPCs: apps, calls, outputs, blobs, artifacts, tokens, containers. Each checks its fields (<see cref="RequestLimits"/>)
/// and who may do it (<see cref="AccessControl"/>) before it translates the request into an operation.
/// </summary>
internal sealed class ModalClientService(
    AppOperations apps, CallOperations calls, BlobStore blobs, ArgumentValidator validator, LogHub logs, AccessControl access,
    ArtifactStore artifacts, TokenAuthority tokens, IControlStore store, Images.WorkerImages images,
    FunctionVariants variants) : ModalClient.ModalClientBase
{
    private static string Require(string value, string field, string rpc) => RequestLimits.Id(value, field, rpc);

    public override Task<AppCreateResponse> AppCreate(AppCreateRequest request, ServerCallContext context)
    {
        RequestLimits.Name(request.Name, "name", "AppCreate");
        RequestLimits.Enum(request.Kind, "kind", "AppCreate");
        RequestLimits.Count(request.Functions.Count, 1000, "functions", "AppCreate");
        RequestLimits.Optional(request.IdempotencyKey, "idempotency_key", "AppCreate");
        var principal = AccessControl.Of(context);
        AccessControl.CheckAppName(principal, request.Name, "AppCreate");
        return apps.CreateAppAsync(request, keyScope: principal.Reader);
    }

    public override async Task<AppHeartbeatResponse> AppHeartbeat(AppHeartbeatRequest request, ServerCallContext context)
    {
        string appId = Require(request.AppId, "app_id", "AppHeartbeat");
        await access.CheckAppAsync(AccessControl.Of(context), appId, "AppHeartbeat", workerMay: false).ConfigureAwait(false);
        await apps.HeartbeatAsync(appId).ConfigureAwait(false);
        return new AppHeartbeatResponse();
    }

    public override async Task<AppStopResponse> AppStop(AppStopRequest request, ServerCallContext context)
    {
        string appId = Require(request.AppId, "app_id", "AppStop");
        await access.CheckAppAsync(AccessControl.Of(context), appId, "AppStop", workerMay: false).ConfigureAwait(false);
        await apps.StopAsync(appId).ConfigureAwait(false);
        return new AppStopResponse();
    }

    public override async Task<AppListResponse> AppList(AppListRequest request, ServerCallContext context)
    {
        var principal = AccessControl.Of(context);
        AccessControl.RequireClient(principal, "AppList");
        var all = await apps.ListAsync().ConfigureAwait(false);
        if (principal.Apps is null)
        {
            return all;
        }
        var visible = new AppListResponse();
        visible.Apps.AddRange(all.Apps.Where(app => principal.Apps.Contains(app.Name)));
        return visible;
    }

    public override async Task<FunctionListResponse> FunctionList(FunctionListRequest request, ServerCallContext context)
    {
        var principal = AccessControl.Of(context);
        AccessControl.RequireClient(principal, "FunctionList");
        RequestLimits.Optional(request.AppName, "app_name", "FunctionList");
        var all = await apps.ListFunctionsAsync(request.AppName).ConfigureAwait(false);
        if (principal.Apps is null)
        {
            return all;
        }
        // A token limited to named apps sees only their functions, as AppList shows only those apps.
        var visible = new FunctionListResponse();
        visible.Functions.AddRange(all.Functions.Where(function => principal.Apps.Contains(function.AppName)));
        return visible;
    }

    public override async Task AppGetLogs(AppGetLogsRequest request, IServerStreamWriter<LogLine> responseStream, ServerCallContext context)
    {
        string appId = Require(request.AppId, "app_id", "AppGetLogs");
        await access.CheckAppAsync(AccessControl.Of(context), appId, "AppGetLogs", workerMay: true).ConfigureAwait(false);
        if (await apps.IsStoppedAsync(appId).ConfigureAwait(false))
        {
            return; // Nothing more will be written.
        }
        var reader = logs.Subscribe(appId, context.CancellationToken);
        // Headers now tell the caller that it is subscribed: every line written from here on reaches it.
        await context.WriteResponseHeadersAsync(new Metadata()).ConfigureAwait(false);
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

    public override async Task<AppGetProgressResponse> AppGetProgress(AppGetProgressRequest request, ServerCallContext context)
    {
        string appId = Require(request.AppId, "app_id", "AppGetProgress");
        RequestLimits.Range(request.FinishedSinceUnixMs, 0, long.MaxValue, "finished_since_unix_ms", "AppGetProgress");
        RequestLimits.Range(request.MaxCalls, 0, 1000, "max_calls", "AppGetProgress");
        var principal = AccessControl.Of(context);
        AccessControl.RequireClient(principal, "AppGetProgress");
        var app = await access.CheckAppAsync(principal, appId, "AppGetProgress", workerMay: false).ConfigureAwait(false);
        long now = store.NowMs;
        // Read after the clock: a call that finishes meanwhile has a later end, so a poller that passes `now` back sees it next time.
        var progress = await store.ReadAppProgressAsync(appId,
            request.FinishedSinceUnixMs == 0 ? long.MaxValue : request.FinishedSinceUnixMs,
            request.MaxCalls == 0 ? 100 : request.MaxCalls).ConfigureAwait(false);
        var response = new AppGetProgressResponse { AppId = app.Id, AppName = app.Name, State = app.State, NowUnixMs = now };
        foreach (var call in progress.Calls)
        {
            response.Calls.Add(new CallProgress
            {
                FunctionCallId = call.Id, FunctionId = call.FunctionId, FunctionName = call.FunctionName, InputCount = call.InputCount,
                FinishedInputs = call.FinishedInputs, InputsComplete = call.InputsComplete, CreatedUnixMs = call.CreatedUnixMs,
                FinishedUnixMs = call.FinishedUnixMs ?? 0, ParentInputId = call.ParentInputId ?? string.Empty,
                Invocation = (FunctionCallInvocation)call.Invocation,
            });
        }
        foreach (var function in progress.Functions)
        {
            response.Functions.Add(new FunctionProgress
            {
                FunctionId = function.FunctionId, FunctionName = function.Name, Backlog = function.Ready, RunningInputs = function.Running,
                StartingContainers = function.StartingContainers, RunningContainers = function.RunningContainers,
            });
        }
        return response;
    }

    public override async Task<FunctionGetResponse> FunctionGet(FunctionGetRequest request, ServerCallContext context)
    {
        string appName = RequestLimits.Name(request.AppName, "app_name", "FunctionGet");
        string functionName = RequestLimits.Name(request.FunctionName, "function_name", "FunctionGet");
        RequestLimits.Optional(request.EnvironmentName, "environment_name", "FunctionGet");
        var principal = AccessControl.Of(context);
        if (principal.Kind != PrincipalKind.Worker && !AccessControl.MayUseAppName(principal, appName))
        {
            throw Errors.Denied($"FunctionGet: {principal} may not reach app '{appName}'.");
        }
        if (request.Version < 0)
        {
            throw Errors.Invalid($"FunctionGet: version must be 0 (the newest) or a deployed version (1, 2, 3...), not {request.Version}.");
        }
        return await apps.GetFunctionByNameAsync(appName, functionName, request.Version).ConfigureAwait(false);
    }

    public override async Task<FunctionMapResponse> FunctionMap(FunctionMapRequest request, ServerCallContext context)
    {
        using var activity = ServerMetrics.ActivitySource.StartActivity("FunctionMap");
        string functionId = Require(request.FunctionId, "function_id", "FunctionMap");
        RequestLimits.Enum(request.Invocation, "invocation", "FunctionMap");
        RequestLimits.Inputs(request.PipelinedInputs, "pipelined_inputs", "FunctionMap");
        RequestLimits.Optional(request.IdempotencyKey, "idempotency_key", "FunctionMap");
        var principal = AccessControl.Of(context);
        var function = await apps.GetRecentFunctionAsync(functionId).ConfigureAwait(false);
        // Access first: moving to the newest version may make a variant there, which only a caller allowed to call it may cause.
        AccessControl.CheckFunction(principal, function, "FunctionMap", workerOwnAppOnly: false);
        if (!string.IsNullOrEmpty(request.ParentInputId))
        {
            await access.CheckParentAsync(principal, Require(request.ParentInputId, "parent_input_id", "FunctionMap")).ConfigureAwait(false);
        }
        else if (principal.Kind == PrincipalKind.Worker && function.AppId != principal.AppId)
        {
            throw Errors.Denied($"FunctionMap: {principal} may call another app's function only from an input it runs (set parent_input_id).");
        }
        if (request.NewestVersion)
        {
            // A call is bound to the newest version when it is created; a client that looked the function up before a
            // redeploy is moved to the new version here (and learns its id from the response). Same app, so same access.
            function = await variants.NewestVersionOfAsync(function).ConfigureAwait(false);
            functionId = request.FunctionId = function.Id;
        }
        var spec = await apps.GetSpecAsync(functionId).ConfigureAwait(false);
        validator.ValidateInputs(spec, request.PipelinedInputs);
        await access.AttachBlobsAsync(principal, request.PipelinedInputs.Select(i => i.Arguments), "app:" + function.AppId).ConfigureAwait(false);
        return await calls.MapAsync(request, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<FunctionPutInputsResponse> FunctionPutInputs(FunctionPutInputsRequest request, ServerCallContext context)
    {
        RequestLimits.Inputs(request.Inputs, "inputs", "FunctionPutInputs");
        RequestLimits.Optional(request.IdempotencyKey, "idempotency_key", "FunctionPutInputs");
        var principal = AccessControl.Of(context);
        var call = await CallAsync(principal, request.FunctionCallId, "FunctionPutInputs").ConfigureAwait(false);
        validator.ValidateInputs(await apps.GetSpecAsync(call.FunctionId).ConfigureAwait(false), request.Inputs);
        await access.AttachBlobsAsync(principal, request.Inputs.Select(i => i.Arguments), "app:" + call.AppId).ConfigureAwait(false);
        return await calls.PutInputsAsync(request).ConfigureAwait(false);
    }

    /// <summary>The call, once the principal may reach it (NOT_FOUND, or expired, when unknown).</summary>
    private async Task<CallRow> CallAsync(Principal principal, string callId, string rpc)
    {
        var call = await calls.GetCallAsync(Require(callId, "function_call_id", rpc)).ConfigureAwait(false);
        await access.CheckCallAsync(principal, call, rpc).ConfigureAwait(false);
        return call;
    }

    public override async Task<FunctionGetOutputsResponse> FunctionGetOutputs(FunctionGetOutputsRequest request, ServerCallContext context)
    {
        RequestLimits.Range(request.AfterCursor, 0, long.MaxValue, "after_cursor", "FunctionGetOutputs");
        RequestLimits.Range(request.MaxOutputs, 0, 10_000, "max_outputs", "FunctionGetOutputs");
        if (!double.IsFinite(request.TimeoutSeconds) || request.TimeoutSeconds < 0 || request.TimeoutSeconds > 3600)
        {
            throw Errors.Invalid($"FunctionGetOutputs: timeout_seconds is {request.TimeoutSeconds}; it must be 0 to 3600.");
        }
        await CallAsync(AccessControl.Of(context), request.FunctionCallId, "FunctionGetOutputs").ConfigureAwait(false);
        return await calls.GetOutputsAsync(request, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task FunctionCallGetDataOut(FunctionCallGetDataOutRequest request, IServerStreamWriter<DataChunk> responseStream,
        ServerCallContext context)
    {
        RequestLimits.Range(request.StartIndex, 0, long.MaxValue, "start_index", "FunctionCallGetDataOut");
        RequestLimits.Range(request.Attempt, 0, int.MaxValue, "attempt", "FunctionCallGetDataOut");
        await CallAsync(AccessControl.Of(context), request.FunctionCallId, "FunctionCallGetDataOut").ConfigureAwait(false);
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
        var call = await CallAsync(AccessControl.Of(context), request.FunctionCallId, "FunctionCallCancel").ConfigureAwait(false);
        await calls.CancelAsync(call.Id, request.TerminateContainers).ConfigureAwait(false);
        return new FunctionCallCancelResponse();
    }

    public override async Task<FunctionCallFromIdResponse> FunctionCallFromId(FunctionCallFromIdRequest request, ServerCallContext context)
    {
        var call = await CallAsync(AccessControl.Of(context), request.FunctionCallId, "FunctionCallFromId").ConfigureAwait(false);
        return await calls.FromIdAsync(call.Id).ConfigureAwait(false);
    }

    public override async Task<FunctionGetCallGraphResponse> FunctionGetCallGraph(FunctionGetCallGraphRequest request, ServerCallContext context)
    {
        var call = await CallAsync(AccessControl.Of(context), request.FunctionCallId, "FunctionGetCallGraph").ConfigureAwait(false);
        return await calls.GetCallGraphAsync(call.Id).ConfigureAwait(false);
    }

    public override async Task<FunctionStatsResponse> FunctionGetCurrentStats(FunctionGetCurrentStatsRequest request, ServerCallContext context)
    {
        var function = await apps.GetRecentFunctionAsync(Require(request.FunctionId, "function_id", "FunctionGetCurrentStats")).ConfigureAwait(false);
        AccessControl.CheckFunction(AccessControl.Of(context), function, "FunctionGetCurrentStats", workerOwnAppOnly: true);
        return await apps.GetStatsAsync(function.Id).ConfigureAwait(false);
    }

    public override async Task<FunctionUpdateKeepWarmResponse> FunctionUpdateKeepWarm(FunctionUpdateKeepWarmRequest request,
        ServerCallContext context)
    {
        var principal = AccessControl.Of(context);
        AccessControl.RequireClient(principal, "FunctionUpdateKeepWarm");
        var function = await apps.GetFunctionAsync(Require(request.FunctionId, "function_id", "FunctionUpdateKeepWarm")).ConfigureAwait(false);
        AccessControl.CheckFunction(principal, function, "FunctionUpdateKeepWarm", workerOwnAppOnly: true);
        await apps.UpdateKeepWarmAsync(function.Id, request.WarmPoolSize).ConfigureAwait(false);
        return new FunctionUpdateKeepWarmResponse();
    }

    public override async Task<FunctionUpdateAutoscalerResponse> FunctionUpdateAutoscaler(FunctionUpdateAutoscalerRequest request,
        ServerCallContext context)
    {
        var principal = AccessControl.Of(context);
        AccessControl.RequireClient(principal, "FunctionUpdateAutoscaler");
        var function = await apps.GetFunctionAsync(Require(request.FunctionId, "function_id", "FunctionUpdateAutoscaler")).ConfigureAwait(false);
        AccessControl.CheckFunction(principal, function, "FunctionUpdateAutoscaler", workerOwnAppOnly: true);
        return await apps.UpdateAutoscalerAsync(function, request).ConfigureAwait(false);
    }

    public override async Task<FunctionGetVariantResponse> FunctionGetVariant(FunctionGetVariantRequest request, ServerCallContext context)
    {
        string baseId = Require(request.FunctionId, "function_id", "FunctionGetVariant");
        string key = RequestLimits.Name(request.VariantKey, "variant_key", "FunctionGetVariant");
        // Reaching a function is what FunctionGet allows: clients by app name, workers any function (to call it).
        var principal = AccessControl.Of(context);
        var function = await apps.GetFunctionAsync(baseId).ConfigureAwait(false);
        AccessControl.CheckFunction(principal, function, "FunctionGetVariant", workerOwnAppOnly: false);
        if (principal.Kind == PrincipalKind.Worker && function.AppId != principal.AppId)
        {
            // A worker calls another app's functions from its inputs. What runs, where and with what resources in that app is
            // its owner's to say: a foreign worker may change how its own calls run (timeout, retries, concurrency), nothing
            // that starts containers, sizes them or sets their environment.
            var overrides = request.Overrides ?? new FunctionOverrides();
            var refused = new List<string>();
            if (overrides.HasMinContainers) refused.Add("min_containers");
            if (overrides.HasBufferContainers) refused.Add("buffer_containers");
            if (overrides.HasMaxContainers) refused.Add("max_containers");
            if (overrides.HasCpu) refused.Add("cpu");
            if (overrides.HasMemoryMb) refused.Add("memory_mb");
            if (overrides.HasGpu) refused.Add("gpu");
            if (overrides.Environment.Count > 0) refused.Add("environment");
            if (refused.Count > 0)
            {
                throw Errors.Denied($"FunctionGetVariant: {principal} may make variants of another app's function only without " +
                    $"{string.Join(", ", refused)}: containers, their resources and their environment in that app are its owner's to set.");
            }
            // Its variants are its own: a key it makes never names (or takes) one the app's owner makes.
            key = $"from {principal.AppId}: {key}";
        }
        var variant = await variants.GetOrCreateAsync(function, key, request.Overrides ?? new FunctionOverrides(), request.Parameters, "FunctionGetVariant")
            .ConfigureAwait(false);
        return new FunctionGetVariantResponse { FunctionId = variant.Id, Spec = FunctionSpec.Parser.ParseFrom(variant.Spec), Version = variant.Version };
    }

    public override async Task<BlobPutResponse> BlobPut(IAsyncStreamReader<BlobChunk> requestStream, ServerCallContext context)
    {
        string reader = AccessControl.Of(context).Reader;
        // A retried upload's key is scoped to its uploader: another principal's key never names this one's blob.
        string blobId = await blobs.PutAsync(requestStream, keyScope: reader, context.CancellationToken).ConfigureAwait(false);
        await store.GrantBlobAsync(blobId, reader).ConfigureAwait(false);
        return new BlobPutResponse { BlobId = blobId };
    }

    public override async Task BlobGet(BlobGetRequest request, IServerStreamWriter<BlobChunk> responseStream, ServerCallContext context)
    {
        string blobId = Require(request.BlobId, "blob_id", "BlobGet");
        // Someone else's blob looks exactly like one that does not exist: ids are not probed.
        if (!await access.MayReadBlobAsync(AccessControl.Of(context), blobId).ConfigureAwait(false))
        {
            throw Errors.NotFound($"Blob '{blobId}' was not found. Upload it with BlobPut first.");
        }
        await blobs.GetAsync(blobId, responseStream, context.CancellationToken).ConfigureAwait(false);
    }

    public override Task<ArtifactCommitResponse> ArtifactCommit(ArtifactManifest request, ServerCallContext context)
    {
        AccessControl.RequireClient(AccessControl.Of(context), "ArtifactCommit");
        return artifacts.CommitAsync(request);
    }

    public override async Task<ArtifactFilePutResponse> ArtifactFilePut(IAsyncStreamReader<ArtifactFileChunk> requestStream, ServerCallContext context)
    {
        AccessControl.RequireClient(AccessControl.Of(context), "ArtifactFilePut");
        await artifacts.PutFileAsync(requestStream, context.CancellationToken).ConfigureAwait(false);
        return new ArtifactFilePutResponse();
    }

    public override Task<ImageConfigGetResponse> ImageConfigGet(ImageConfigGetRequest request, ServerCallContext context)
    {
        AccessControl.RequireClient(AccessControl.Of(context), "ImageConfigGet");
        return Task.FromResult(images.ImageConfigGet());
    }

    public override async Task<TokenCreateResponse> TokenCreate(TokenCreateRequest request, ServerCallContext context)
    {
        AccessControl.RequireAdmin(AccessControl.Of(context), "TokenCreate");
        RequestLimits.Count(request.AppNames.Count, 1000, "app_names", "TokenCreate");
        for (int i = 0; i < request.AppNames.Count; i++)
        {
            RequestLimits.Name(request.AppNames[i], $"app_names[{i}]", "TokenCreate");
        }
        RequestLimits.Range(request.ExpiresUnixMs, 0, long.MaxValue, "expires_unix_ms", "TokenCreate");
        RequestLimits.Optional(request.Description, "description", "TokenCreate");
        if (request.Admin && request.AppNames.Count > 0)
        {
            throw Errors.Invalid("TokenCreate: an admin token reaches every app; give admin or app_names, not both.");
        }
        string id = TokenAuthority.NewId();
        string secret = TokenAuthority.NewSecret();
        await tokens.CreateAsync(id, secret, request.Admin, request.AppNames.Count == 0 ? null : [.. request.AppNames.Distinct(StringComparer.Ordinal)],
            request.ExpiresUnixMs == 0 ? null : request.ExpiresUnixMs, request.Description).ConfigureAwait(false);
        return new TokenCreateResponse { TokenId = id, TokenSecret = secret };
    }

    public override async Task<TokenListResponse> TokenList(TokenListRequest request, ServerCallContext context)
    {
        AccessControl.RequireAdmin(AccessControl.Of(context), "TokenList");
        var response = new TokenListResponse();
        foreach (var token in await store.ListTokensAsync().ConfigureAwait(false))
        {
            var info = new TokenInfo
            {
                TokenId = token.Id, Admin = token.Admin, ExpiresUnixMs = token.ExpiresUnixMs ?? 0, CreatedUnixMs = token.CreatedUnixMs,
                Revoked = token.Revoked, Description = token.Description,
            };
            info.AppNames.AddRange(token.Apps ?? []);
            response.Tokens.Add(info);
        }
        return response;
    }

    public override async Task<TokenRevokeResponse> TokenRevoke(TokenRevokeRequest request, ServerCallContext context)
    {
        AccessControl.RequireAdmin(AccessControl.Of(context), "TokenRevoke");
        string tokenId = Require(request.TokenId, "token_id", "TokenRevoke");
        if (!await store.RevokeTokenAsync(tokenId).ConfigureAwait(false))
        {
            throw Errors.NotFound($"Token '{tokenId}' was not found.");
        }
        return new TokenRevokeResponse();
    }

    public override async Task<ContainerListResponse> ContainerList(ContainerListRequest request, ServerCallContext context)
    {
        var principal = AccessControl.Of(context);
        AccessControl.RequireClient(principal, "ContainerList");
        string? onlyAppId = null;
        if (request.AppId.Length > 0)
        {
            onlyAppId = Require(request.AppId, "app_id", "ContainerList");
            await access.CheckAppAsync(principal, onlyAppId, "ContainerList", workerMay: false).ConfigureAwait(false);
        }
        // One read per function: its row names both the function and its app.
        var functions = new Dictionary<string, FunctionRow?>(StringComparer.Ordinal);
        var response = new ContainerListResponse();
        foreach (var row in await store.ListContainersAsync().ConfigureAwait(false))
        {
            if (onlyAppId is not null && row.AppId != onlyAppId)
            {
                continue;
            }
            if (!functions.TryGetValue(row.FunctionId, out var function))
            {
                functions[row.FunctionId] = function = await store.GetFunctionAsync(row.FunctionId).ConfigureAwait(false);
            }
            // A token limited to named apps sees only their containers, as AppList shows only those apps.
            if (function is null || !AccessControl.MayUseAppName(principal, function.AppName))
            {
                continue;
            }
            response.Containers.Add(new ContainerInfo
            {
                ContainerId = row.Id, AppId = row.AppId, AppName = function.AppName, FunctionId = row.FunctionId, FunctionName = function.Name,
                State = row.State, RunningInputs = row.Running, LaunchedUnixMs = row.LaunchedUnixMs,
            });
        }
        return response;
    }

    public override async Task<ContainerStopResponse> ContainerStop(ContainerStopRequest request, ServerCallContext context)
    {
        var principal = AccessControl.Of(context);
        AccessControl.RequireClient(principal, "ContainerStop");
        string containerId = Require(request.ContainerId, "container_id", "ContainerStop");
        var container = await store.GetContainerAsync(containerId).ConfigureAwait(false)
            ?? throw Errors.NotFound($"Container '{containerId}' was not found: it is unknown or already gone.");
        await access.CheckAppAsync(principal, container.AppId, "ContainerStop", workerMay: false).ConfigureAwait(false);
        // Every replica applies stop requests to the containers it launched on its next tick.
        await store.RequestContainerStopAsync(containerId, kill: false).ConfigureAwait(false);
        return new ContainerStopResponse();
    }
}
