using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Grpc.Core;
using Modal.Api;

namespace Modal;

/// <summary>
/// The backend of the embedded and remote modes (and of calls made from inside a worker): every call goes to a
/// control plane over gRPC. Unary calls pipeline their input in <c>FunctionMap</c> and long-poll the output;
/// maps run through a <see cref="MapPump"/>; generators stream their items. Every request rides out a restart or a
/// failover of the control plane within the connection's retry window: requests that create work carry an idempotency
/// key, long polls resume from their cursor and generator streams from the next index. Nothing is kept per call.
/// </summary>
internal sealed class GrpcBackend : IModalBackend
{
    private static readonly TimeSpan s_pollTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How much longer than the long poll's own limit one poll may take before it is given up and retried.</summary>
    public static readonly TimeSpan PollGrace = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan s_longestTimer = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly GrpcConnection _connection;
    private readonly PayloadCodec _codec;
    private readonly IReadOnlyDictionary<string, string> _runningFunctionIds;
    /// <summary>Function ids by app, name, pinned version and variant key ("" for the function itself).</summary>
    private readonly ConcurrentDictionary<(string App, string Function, int? Version, string Variant), string> _functionIds = new();

    /// <summary>
    /// Function ids looked up by name without a version (and their variants), with their app, name and variant key: their
    /// calls ask the control plane for the newest version (<c>newest_version</c>), so that a redeploy reaches this process's
    /// next call.
    /// </summary>
    private readonly ConcurrentDictionary<string, (string App, string Function, string Variant)> _followNewest = new(StringComparer.Ordinal);
    private readonly HashSet<FunctionDefinition> _runningFunctions;
    private readonly int _runningAppVersion;

    /// <summary>Creates a backend over a connection.</summary>
    /// <param name="connection">The channel to the control plane; the backend does not own it.</param>
    /// <param name="runningAppName">The app this process runs, if any.</param>
    /// <param name="runningFunctionIds">The running app's function ids by name (from <c>AppCreate</c>), if known.</param>
    /// <param name="runningFunctions">The compiled functions the running app serves: handles of other apps keep their own app name.</param>
    /// <param name="runningAppVersion">
    /// In a worker of a deployed version, that version: calls to the worker's own app by name stay on it. 0 elsewhere.
    /// </param>
    public GrpcBackend(
        GrpcConnection connection, string? runningAppName, IReadOnlyDictionary<string, string>? runningFunctionIds,
        IEnumerable<FunctionDefinition> runningFunctions, int runningAppVersion = 0)
    {
        _runningAppVersion = runningAppVersion;
        _runningFunctions = runningFunctions.ToHashSet();
        _connection = connection;
        _codec = new PayloadCodec(connection);
        RunningAppName = runningAppName;
        _runningFunctionIds = runningFunctionIds ?? new Dictionary<string, string>();
    }

    /// <inheritdoc />
    public string? RunningAppName { get; }

    /// <inheritdoc />
    public bool Runs(FunctionDefinition definition) => _runningFunctions.Contains(definition);

    /// <summary>The payload codec of this connection.</summary>
    public PayloadCodec Codec => _codec;

    /// <inheritdoc />
    public Task<string> HydrateAsync(FunctionReference function, CancellationToken cancellationToken)
        => ResolveAsync(function, cancellationToken);

    /// <inheritdoc />
    public async Task<ReadOnlyMemory<byte>> CallAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        using var activity = ModalTelemetry.StartCall("call", function.Name);
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await CallCoreAsync(function, arguments, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            ModalTelemetry.Fail(activity, exception);
            throw;
        }
        finally
        {
            Hosting.ModalLog.CallFinished(function.Name, Stopwatch.GetElapsedTime(started));
        }
    }

    private async Task<ReadOnlyMemory<byte>> CallCoreAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        PayloadCodec.CheckSize(arguments.Length, $"the arguments of '{function.Name}'");
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var payload = await _codec.EncodeAsync(arguments, $"the arguments of '{function.Name}'", cancellationToken).ConfigureAwait(false);
        var request = NewMapRequest(functionId, FunctionCallInvocation.Sync, ModalTelemetry.WithTraceContext(payload));
        request.NewestVersion = FollowsNewest(functionId);
        // The control plane waits for the output and returns it with the call: one round trip instead of two.
        request.WaitForOutputSeconds = s_pollTimeout.TotalSeconds;
        FunctionMapResponse response;
        try
        {
            response = await _connection.CallAsync((e, o) => e.Client.FunctionMapAsync(request, o), cancellationToken,
                deadline: s_pollTimeout + PollGrace).ConfigureAwait(false);
            Rebind(request, response);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await CancelCreatedCallQuietlyAsync(request).ConfigureAwait(false);
            throw;
        }
        try
        {
            if (response.Outputs.Count > 0)
            {
                var result = response.Outputs[0].Result;
                OutputMapper.ThrowIfFailed(result, function.Name);
                return await _codec.DecodeAsync(result.Data, cancellationToken).ConfigureAwait(false);
            }
            return await WaitForOutputAsync(response.FunctionCallId, function.Name, timeout: null, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await CancelQuietlyAsync(_connection, response.FunctionCallId).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The caller cancelled while its FunctionMap waited for the output, so it never learned the call's id: the same
    /// request again (same idempotency key, no wait, no input) returns the call the first one created if it committed,
    /// or else an empty call that runs nothing; either is then cancelled. Best effort, like <see cref="CancelQuietlyAsync"/>.
    /// </summary>
    private async Task CancelCreatedCallQuietlyAsync(FunctionMapRequest request)
    {
        var replay = request.Clone();
        replay.WaitForOutputSeconds = 0;
        replay.PipelinedInputs.Clear();
        try
        {
            var created = await _connection.CallAsync((e, o) => e.Client.FunctionMapAsync(replay, o), CancellationToken.None,
                deadline: TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            await CancelQuietlyAsync(_connection, created.FunctionCallId).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is RpcException or ModalException)
        {
            // Unreachable: the call runs to its end unobserved, as a cancel that cannot be delivered would leave it.
        }
    }

    /// <inheritdoc />
    public async Task<string> SpawnAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        using var activity = ModalTelemetry.StartCall("spawn", function.Name);
        try
        {
            var callId = await SpawnCoreAsync(function, arguments, cancellationToken).ConfigureAwait(false);
            activity?.SetTag("modal.function_call_id", callId);
            return callId;
        }
        catch (Exception exception)
        {
            ModalTelemetry.Fail(activity, exception);
            throw;
        }
    }

    private async Task<string> SpawnCoreAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        PayloadCodec.CheckSize(arguments.Length, $"the arguments of '{function.Name}'");
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var payload = await _codec.EncodeAsync(arguments, $"the arguments of '{function.Name}'", cancellationToken).ConfigureAwait(false);
        var request = NewMapRequest(functionId, FunctionCallInvocation.Async, ModalTelemetry.WithTraceContext(payload));
        request.NewestVersion = FollowsNewest(functionId);
        var response = await _connection.CallAsync((e, o) => e.Client.FunctionMapAsync(request, o), cancellationToken).ConfigureAwait(false);
        Rebind(request, response);
        return response.FunctionCallId;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<MapOutput> MapAsync(
        FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, bool orderOutputs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var activity = ModalTelemetry.StartCall("map", function.Name);
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var pump = new MapPump(_connection, _codec, functionId, function.Name, WorkerContext.CurrentInputId, FollowsNewest(functionId));
        await foreach (var output in pump.RunAsync(inputs, orderOutputs, cancellationToken).ConfigureAwait(false))
        {
            yield return output;
        }
    }

    /// <inheritdoc />
    public async Task<string> SpawnMapAsync(FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, CancellationToken cancellationToken)
    {
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        // Async invocation: the outputs are kept for the retention period, for any reader, however long the caller stays.
        var batches = new InputBatches(_connection, functionId, FunctionCallInvocation.Async, WorkerContext.CurrentInputId, FollowsNewest(functionId));
        var index = 0;
        await foreach (var input in inputs.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var payload = await _codec.EncodeAsync(input, $"the arguments of input {index} of '{function.Name}'", cancellationToken).ConfigureAwait(false);
            if (batches.Add(new FunctionInputItem { Index = index++, Arguments = payload }))
            {
                await batches.FlushAsync(last: false, createEmpty: false, cancellationToken).ConfigureAwait(false);
            }
        }
        await batches.FlushAsync(last: true, createEmpty: true, cancellationToken).ConfigureAwait(false);
        return batches.CallId!;
    }

    /// <inheritdoc />
    public async Task<int> GetCallInputCountAsync(string functionCallId, CancellationToken cancellationToken)
    {
        var info = await _connection.CallAsync(
            (e, o) => e.Client.FunctionCallFromIdAsync(new FunctionCallFromIdRequest { FunctionCallId = functionCallId }, o),
            cancellationToken).ConfigureAwait(false);
        return info.InputCount;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<MapOutput> GetCallOutputsAsync(string functionCallId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var info = await _connection.CallAsync(
            (e, o) => e.Client.FunctionCallFromIdAsync(new FunctionCallFromIdRequest { FunctionCallId = functionCallId }, o),
            cancellationToken).ConfigureAwait(false);
        var seen = new bool[info.InputCount];
        var received = 0;
        long cursor = 0;
        while (received < seen.Length)
        {
            var request = new FunctionGetOutputsRequest { FunctionCallId = functionCallId, AfterCursor = cursor, TimeoutSeconds = s_pollTimeout.TotalSeconds };
            var response = await _connection.CallAsync(
                (e, o) => e.Client.FunctionGetOutputsAsync(request, o), cancellationToken, deadline: s_pollTimeout + PollGrace).ConfigureAwait(false);
            cursor = response.Cursor;
            foreach (var output in response.Outputs)
            {
                if (output.Index < 0 || output.Index >= seen.Length || seen[output.Index])
                {
                    continue; // a duplicate after a retried poll
                }
                seen[output.Index] = true;
                received++;
                yield return OutputMapper.ToException(output.Result, info.FunctionName) is { } failure
                    ? new MapOutput(output.Index, default, failure)
                    : new MapOutput(output.Index, await _codec.DecodeAsync(output.Result.Data, cancellationToken).ConfigureAwait(false), null);
            }
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> CallGeneratorAsync(
        FunctionReference function, ReadOnlyMemory<byte> arguments, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var activity = ModalTelemetry.StartCall("generator", function.Name);
        PayloadCodec.CheckSize(arguments.Length, $"the arguments of '{function.Name}'");
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var payload = await _codec.EncodeAsync(arguments, $"the arguments of '{function.Name}'", cancellationToken).ConfigureAwait(false);
        var request = NewMapRequest(functionId, FunctionCallInvocation.Sync, ModalTelemetry.WithTraceContext(payload));
        request.IsGeneratorCall = true;
        request.NewestVersion = FollowsNewest(functionId);
        var response = await _connection.CallAsync((e, o) => e.Client.FunctionMapAsync(request, o), cancellationToken).ConfigureAwait(false);
        Rebind(request, response);
        var callId = response.FunctionCallId;
        var finished = false;
        try
        {
            long next = 0;
            var attempt = 0;
            var retry = _connection.NewRetry();
            var quietPasses = 0;
            while (true)
            {
                // Items stream until the done marker. A stream that breaks (a restart, a failover) is reopened from the
                // next index, within the retry window; one that ends early is settled by the call's final output.
                var endpoint = _connection.NextEndpoint();
                var broke = false;
                var received = false;
                var resume = new FunctionCallGetDataOutRequest { FunctionCallId = callId, StartIndex = next, Attempt = attempt };
                using (var call = endpoint.Client.FunctionCallGetDataOut(resume, _connection.Options(cancellationToken)))
                {
                    while (true)
                    {
                        var read = await ReadChunkAsync(call.ResponseStream, endpoint, retry, cancellationToken).ConfigureAwait(false);
                        if (read is not true)
                        {
                            broke = read is null;
                            break;
                        }
                        var chunk = call.ResponseStream.Current;
                        endpoint.MarkHealthy();
                        retry.Reset();
                        received = true;
                        if (chunk.Index < next)
                        {
                            continue;
                        }
                        next = chunk.Index + 1;
                        attempt = chunk.Attempt;
                        yield return await _codec.DecodeAsync(chunk.Data, cancellationToken).ConfigureAwait(false);
                    }
                }
                if (broke)
                {
                    continue;
                }
                var result = await WaitForResultAsync(callId, timeout: null, cancellationToken).ConfigureAwait(false);
                OutputMapper.ThrowIfFailed(result, function.Name);
                if (next >= result.GeneratorCount)
                {
                    finished = true;
                    yield break;
                }
                // Fewer items than the done marker counts: the rest are still being stored; ask again, not in a tight loop.
                quietPasses = received ? 0 : quietPasses + 1;
                if (quietPasses > 0)
                {
                    await Task.Delay(RetryBudget.Backoff(quietPasses), _connection.Time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            if (!finished)
            {
                await CancelQuietlyAsync(_connection, callId).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc />
    public async Task<ReadOnlyMemory<byte>> GetCallOutputAsync(string functionCallId, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var result = await WaitForResultAsync(functionCallId, timeout, cancellationToken).ConfigureAwait(false);
        if (result.Status != Api.InputStatus.Success)
        {
            // Only a failure needs the function's name (for its message): nothing is kept per spawned call.
            OutputMapper.ThrowIfFailed(result, await FunctionNameOfAsync(functionCallId, cancellationToken).ConfigureAwait(false));
        }
        return await _codec.DecodeAsync(result.Data, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task CancelCallAsync(string functionCallId, bool terminateContainers, CancellationToken cancellationToken)
        => _connection.CallAsync(
            (e, o) => e.Client.FunctionCallCancelAsync(
                new FunctionCallCancelRequest { FunctionCallId = functionCallId, TerminateContainers = terminateContainers }, o),
            cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<InputInfo>> GetCallGraphAsync(string functionCallId, CancellationToken cancellationToken)
    {
        var response = await _connection.CallAsync(
            (e, o) => e.Client.FunctionGetCallGraphAsync(new FunctionGetCallGraphRequest { FunctionCallId = functionCallId }, o),
            cancellationToken).ConfigureAwait(false);
        return CallGraph.Build(response.Inputs);
    }

    /// <inheritdoc />
    public async Task<FunctionStats> GetCurrentStatsAsync(FunctionReference function, CancellationToken cancellationToken)
    {
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var response = await _connection.CallAsync(
            (e, o) => e.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = functionId }, o),
            cancellationToken).ConfigureAwait(false);
        return new FunctionStats(response.Backlog, response.NumTotalRunners);
    }

    /// <inheritdoc />
    public async Task UpdateAutoscalerAsync(FunctionReference function, int? minContainers, int? maxContainers, int? bufferContainers,
        int? scaledownWindowSeconds, CancellationToken cancellationToken)
    {
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var request = new FunctionUpdateAutoscalerRequest { FunctionId = functionId };
        if (minContainers is { } min) request.MinContainers = min;
        if (maxContainers is { } max) request.MaxContainers = max;
        if (bufferContainers is { } buffer) request.BufferContainers = buffer;
        if (scaledownWindowSeconds is { } window) request.ScaledownWindowSeconds = window;
        try
        {
            await _connection.CallAsync((e, o) => e.Client.FunctionUpdateAutoscalerAsync(request, o), cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidInputException refused)
        {
            // Settings that do not fit the function's current ones (a minimum above its maximum) are the caller's arguments.
            throw new ArgumentException($"UpdateAutoscalerAsync on '{function.Name}': {refused.Message}", refused);
        }
    }

    /// <inheritdoc />
    public async Task KeepWarmAsync(FunctionReference function, int warmPoolSize, CancellationToken cancellationToken)
    {
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        await _connection.CallAsync(
            (e, o) => e.Client.FunctionUpdateKeepWarmAsync(new FunctionUpdateKeepWarmRequest { FunctionId = functionId, WarmPoolSize = warmPoolSize }, o),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Cancels a call, best effort and briefly: used when its caller has gone away.</summary>
    public static async Task CancelQuietlyAsync(GrpcConnection connection, string functionCallId)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await connection.CallAsync(
                (e, o) => e.Client.FunctionCallCancelAsync(new FunctionCallCancelRequest { FunctionCallId = functionCallId }, o),
                limit.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is ModalException or OperationCanceledException)
        {
            // The call may have finished or the server gone; nothing more to do for a caller that left.
        }
    }

    /// <summary>The function id a reference calls: the function's, or its variant's (made on the control plane at first use).</summary>
    private async Task<string> ResolveAsync(FunctionReference function, CancellationToken cancellationToken)
    {
        var (baseId, appName, version) = await ResolveDeclaredAsync(function, cancellationToken).ConfigureAwait(false);
        if (function.Variant is not { } variant)
        {
            return baseId;
        }
        var key = (appName, function.Name, version, variant.Key);
        if (_functionIds.TryGetValue(key, out var cached))
        {
            return cached;
        }
        var request = new FunctionGetVariantRequest { FunctionId = baseId, VariantKey = variant.Key, Overrides = FunctionSpecs.Overrides(variant) };
        if (variant.Parameters is not null)
        {
            // A [Cls] parameter set: the control plane hands it to each of the variant's workers, which create their instance with it.
            request.Parameters = Google.Protobuf.ByteString.CopyFrom(variant.ParameterPayload.Span);
        }
        FunctionGetVariantResponse response;
        try
        {
            response = await _connection.CallAsync((e, o) => e.Client.FunctionGetVariantAsync(request, o), cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidInputException refused)
        {
            throw new ArgumentException($"'{function.Name}' with {variant} does not fit the function on the control plane: {refused.Message}", refused);
        }
        if (FollowsNewest(baseId))
        {
            _followNewest[response.FunctionId] = (appName, function.Name, variant.Key);
        }
        _functionIds[key] = response.FunctionId;
        return response.FunctionId;
    }

    /// <summary>The id of the function a reference names (without its variant), with the app and the pinned version it was looked up in.</summary>
    private async Task<(string FunctionId, string AppName, int? Version)> ResolveDeclaredAsync(FunctionReference function, CancellationToken cancellationToken)
    {
        var appName = function.ResolveAppName(this);
        if (appName == RunningAppName && function.Version is null && _runningFunctionIds.TryGetValue(function.Name, out var runningId))
        {
            return (runningId, appName, null);
        }
        // A deployed version's worker calls its own app's functions in that same version.
        int? version = function.Version ?? (appName == RunningAppName && _runningAppVersion > 0 ? _runningAppVersion : null);
        var key = (appName, function.Name, version, "");
        if (_functionIds.TryGetValue(key, out var cached))
        {
            return (cached, appName, version);
        }
        FunctionGetResponse response;
        try
        {
            response = await _connection.CallAsync(
                (e, o) => e.Client.FunctionGetAsync(
                    new FunctionGetRequest { AppName = appName, FunctionName = function.Name, Version = version ?? 0 }, o),
                cancellationToken).ConfigureAwait(false);
        }
        catch (NotFoundException exception)
        {
            throw new NotFoundException(
                $"Function '{function.Name}' of app '{appName}'{(version is { } pinned ? $" version {pinned}" : "")} was not found on the " +
                $"control plane at {_connection.ServerUrl}: {exception.Message} Deploy the app (ModalApp.DeployAsync or modal deploy) or check the " +
                "app and function names.", exception);
        }
        if (version is null)
        {
            _followNewest[response.FunctionId] = (appName, function.Name, "");
        }
        _functionIds[key] = response.FunctionId;
        return (response.FunctionId, appName, version);
    }

    /// <summary>Whether calls of this function id ask for the newest version (it was looked up by name without a version).</summary>
    private bool FollowsNewest(string functionId) => _followNewest.ContainsKey(functionId);

    /// <summary>The control plane bound a call to a newer version than the id it was sent: later calls use that version's id.</summary>
    private void Rebind(FunctionMapRequest request, FunctionMapResponse response)
    {
        if (request.NewestVersion && response.FunctionId.Length > 0 && response.FunctionId != request.FunctionId
            && _followNewest.TryGetValue(request.FunctionId, out var name))
        {
            _followNewest[response.FunctionId] = name;
            _functionIds[(name.App, name.Function, null, name.Variant)] = response.FunctionId;
        }
    }

    /// <summary>A new call's request; its idempotency key stays the same across the retries of this one request.</summary>
    internal static FunctionMapRequest NewMapRequest(string functionId, FunctionCallInvocation invocation, Payload arguments)
    {
        var request = new FunctionMapRequest
        {
            FunctionId = functionId,
            Invocation = invocation,
            ParentInputId = WorkerContext.CurrentInputId ?? string.Empty,
            IdempotencyKey = NewIdempotencyKey(),
        };
        request.PipelinedInputs.Add(new FunctionInputItem { Index = 0, Arguments = arguments });
        return request;
    }

    /// <summary>A fresh key for one logical request that creates work.</summary>
    internal static string NewIdempotencyKey() => Guid.NewGuid().ToString("N");

    private async Task<ReadOnlyMemory<byte>> WaitForOutputAsync(string functionCallId, string? functionName, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var result = await WaitForResultAsync(functionCallId, timeout, cancellationToken).ConfigureAwait(false);
        OutputMapper.ThrowIfFailed(result, functionName);
        return await _codec.DecodeAsync(result.Data, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The name of a call's function, for a failure's message; null when the control plane cannot say.</summary>
    private async Task<string?> FunctionNameOfAsync(string functionCallId, CancellationToken cancellationToken)
    {
        try
        {
            var info = await _connection.CallAsync(
                (e, o) => e.Client.FunctionCallFromIdAsync(new FunctionCallFromIdRequest { FunctionCallId = functionCallId }, o),
                cancellationToken).ConfigureAwait(false);
            return info.FunctionName;
        }
        catch (ModalException)
        {
            return null;
        }
    }

    /// <summary>
    /// Long-polls the first output of a call. Null waits without limit, zero asks once, otherwise polls until the
    /// time is up and throws <see cref="TimeoutException"/>, also when the control plane is unreachable meanwhile.
    /// </summary>
    private async Task<Api.FunctionResult> WaitForResultAsync(string functionCallId, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var time = _connection.Time;
        var started = time.GetTimestamp();
        // The caller's timeout also bounds the retries while the control plane is unreachable.
        using var limit = timeout is { } span && span + PollGrace < s_longestTimer ? new CancellationTokenSource(span + PollGrace, time) : null;
        using var linked = limit is null ? null : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, limit.Token);
        var token = linked?.Token ?? cancellationToken;
        while (true)
        {
            var wait = s_pollTimeout;
            if (timeout is { } total)
            {
                var remaining = total - time.GetElapsedTime(started);
                wait = remaining <= TimeSpan.Zero ? TimeSpan.Zero : (remaining < wait ? remaining : wait);
            }
            var request = new FunctionGetOutputsRequest
            {
                FunctionCallId = functionCallId,
                AfterCursor = 0,
                TimeoutSeconds = wait.TotalSeconds,
                MaxOutputs = 1,
            };
            FunctionGetOutputsResponse response;
            try
            {
                response = await _connection.CallAsync(
                    (e, o) => e.Client.FunctionGetOutputsAsync(request, o), token, deadline: wait + PollGrace).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (limit is { IsCancellationRequested: true } && !cancellationToken.IsCancellationRequested)
            {
                throw NoOutputYet(functionCallId, timeout!.Value);
            }
            if (response.Outputs.Count > 0)
            {
                return response.Outputs[0].Result;
            }
            if (timeout is { } due && time.GetElapsedTime(started) >= due)
            {
                throw NoOutputYet(functionCallId, due);
            }
        }
    }

    private static TimeoutException NoOutputYet(string functionCallId, TimeSpan timeout)
        => new($"Function call {functionCallId} has no output after {timeout.TotalSeconds:0.###} s; it goes on running. Call GetAsync again to keep waiting.");

    /// <summary>
    /// The next chunk of a generator stream: true with a chunk, false when the stream ended, null when it broke in
    /// transit and should be reopened (after the backoff; throws once the retry window is spent).
    /// </summary>
    private async Task<bool?> ReadChunkAsync(
        IAsyncStreamReader<DataChunk> stream, GrpcEndpoint endpoint, RetryBudget retry, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.MoveNext(cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException exception) when (GrpcConnection.IsTransient(exception, cancellationToken))
        {
            await retry.WaitAsync(exception, endpoint, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (RpcException exception)
        {
            throw _connection.Translate(exception, cancellationToken, endpoint);
        }
    }
}
