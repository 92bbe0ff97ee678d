using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Grpc.Core;
using Modal.Api;

namespace Modal;

/// <summary>
/// The backend of the embedded and remote modes (and of calls made from inside a worker): every call goes to a
/// control plane over gRPC. Unary calls pipeline their input in <c>FunctionMap</c> and long-poll the output;
/// maps run through a <see cref="MapPump"/>; generators stream their items.
/// </summary>
internal sealed class GrpcBackend : IModalBackend
{
    private static readonly TimeSpan s_pollTimeout = TimeSpan.FromSeconds(30);

    private readonly GrpcConnection _connection;
    private readonly PayloadCodec _codec;
    private readonly IReadOnlyDictionary<string, string> _runningFunctionIds;
    private readonly ConcurrentDictionary<(string App, string Function), string> _functionIds = new();
    private readonly ConcurrentDictionary<string, string> _callFunctionNames = new();

    /// <summary>Creates a backend over a connection.</summary>
    /// <param name="connection">The channel to the control plane; the backend does not own it.</param>
    /// <param name="runningAppName">The app this process runs, if any.</param>
    /// <param name="runningFunctionIds">The running app's function ids by name (from <c>AppCreate</c>), if known.</param>
    public GrpcBackend(GrpcConnection connection, string? runningAppName, IReadOnlyDictionary<string, string>? runningFunctionIds)
    {
        _connection = connection;
        _codec = new PayloadCodec(connection);
        RunningAppName = runningAppName;
        _runningFunctionIds = runningFunctionIds ?? new Dictionary<string, string>();
    }

    /// <inheritdoc />
    public string? RunningAppName { get; }

    /// <summary>The payload codec of this connection.</summary>
    public PayloadCodec Codec => _codec;

    /// <inheritdoc />
    public Task<string> HydrateAsync(FunctionReference function, CancellationToken cancellationToken)
        => ResolveAsync(function, cancellationToken);

    /// <inheritdoc />
    public async Task<ReadOnlyMemory<byte>> CallAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        PayloadCodec.CheckSize(arguments.Length, $"the arguments of '{function.Name}'");
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var payload = await _codec.EncodeAsync(arguments, $"the arguments of '{function.Name}'", cancellationToken).ConfigureAwait(false);
        var request = NewMapRequest(functionId, FunctionCallInvocation.Sync, payload);
        var response = await _connection.CallAsync(o => _connection.Client.FunctionMapAsync(request, o), cancellationToken).ConfigureAwait(false);
        try
        {
            return await WaitForOutputAsync(response.FunctionCallId, function.Name, timeout: null, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await CancelQuietlyAsync(_connection, response.FunctionCallId).ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<string> SpawnAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        PayloadCodec.CheckSize(arguments.Length, $"the arguments of '{function.Name}'");
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var payload = await _codec.EncodeAsync(arguments, $"the arguments of '{function.Name}'", cancellationToken).ConfigureAwait(false);
        var request = NewMapRequest(functionId, FunctionCallInvocation.Async, payload);
        var response = await _connection.CallAsync(o => _connection.Client.FunctionMapAsync(request, o), cancellationToken).ConfigureAwait(false);
        _callFunctionNames.TryAdd(response.FunctionCallId, function.Name);
        return response.FunctionCallId;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<MapOutput> MapAsync(
        FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, bool orderOutputs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var pump = new MapPump(_connection, _codec, functionId, function.Name, WorkerContext.CurrentInputId);
        await foreach (var output in pump.RunAsync(inputs, orderOutputs, cancellationToken).ConfigureAwait(false))
        {
            yield return output;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> CallGeneratorAsync(
        FunctionReference function, ReadOnlyMemory<byte> arguments, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        PayloadCodec.CheckSize(arguments.Length, $"the arguments of '{function.Name}'");
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var payload = await _codec.EncodeAsync(arguments, $"the arguments of '{function.Name}'", cancellationToken).ConfigureAwait(false);
        var request = NewMapRequest(functionId, FunctionCallInvocation.Sync, payload);
        request.IsGeneratorCall = true;
        var response = await _connection.CallAsync(o => _connection.Client.FunctionMapAsync(request, o), cancellationToken).ConfigureAwait(false);
        var callId = response.FunctionCallId;
        var finished = false;
        try
        {
            long next = 0;
            while (true)
            {
                // Items stream until the done marker; a stream that ends early (a failure, a dropped connection) is
                // settled by the call's final output.
                using (var call = _connection.Client.FunctionCallGetDataOut(
                    new FunctionCallGetDataOutRequest { FunctionCallId = callId, StartIndex = next }, _connection.Options(cancellationToken)))
                {
                    while (await MoveNextAsync(call.ResponseStream, cancellationToken).ConfigureAwait(false))
                    {
                        var chunk = call.ResponseStream.Current;
                        if (chunk.Index < next)
                        {
                            continue;
                        }
                        next = chunk.Index + 1;
                        yield return await _codec.DecodeAsync(chunk.Data, cancellationToken).ConfigureAwait(false);
                    }
                }
                var result = await WaitForResultAsync(callId, timeout: null, cancellationToken).ConfigureAwait(false);
                OutputMapper.ThrowIfFailed(result, function.Name);
                if (next >= result.GeneratorCount)
                {
                    finished = true;
                    yield break;
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
        if (!_callFunctionNames.TryGetValue(functionCallId, out var functionName))
        {
            var info = await _connection.CallAsync(
                o => _connection.Client.FunctionCallFromIdAsync(new FunctionCallFromIdRequest { FunctionCallId = functionCallId }, o),
                cancellationToken, idempotent: true).ConfigureAwait(false);
            functionName = info.FunctionName;
            _callFunctionNames.TryAdd(functionCallId, functionName);
        }
        return await WaitForOutputAsync(functionCallId, functionName, timeout, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task CancelCallAsync(string functionCallId, bool terminateContainers, CancellationToken cancellationToken)
        => _connection.CallAsync(
            o => _connection.Client.FunctionCallCancelAsync(
                new FunctionCallCancelRequest { FunctionCallId = functionCallId, TerminateContainers = terminateContainers }, o),
            cancellationToken, idempotent: true);

    /// <inheritdoc />
    public async Task<IReadOnlyList<InputInfo>> GetCallGraphAsync(string functionCallId, CancellationToken cancellationToken)
    {
        var response = await _connection.CallAsync(
            o => _connection.Client.FunctionGetCallGraphAsync(new FunctionGetCallGraphRequest { FunctionCallId = functionCallId }, o),
            cancellationToken, idempotent: true).ConfigureAwait(false);
        return CallGraph.Build(response.Inputs);
    }

    /// <inheritdoc />
    public async Task<FunctionStats> GetCurrentStatsAsync(FunctionReference function, CancellationToken cancellationToken)
    {
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        var response = await _connection.CallAsync(
            o => _connection.Client.FunctionGetCurrentStatsAsync(new FunctionGetCurrentStatsRequest { FunctionId = functionId }, o),
            cancellationToken, idempotent: true).ConfigureAwait(false);
        return new FunctionStats(response.Backlog, response.NumTotalRunners);
    }

    /// <inheritdoc />
    public async Task KeepWarmAsync(FunctionReference function, int warmPoolSize, CancellationToken cancellationToken)
    {
        var functionId = await ResolveAsync(function, cancellationToken).ConfigureAwait(false);
        await _connection.CallAsync(
            o => _connection.Client.FunctionUpdateKeepWarmAsync(new FunctionUpdateKeepWarmRequest { FunctionId = functionId, WarmPoolSize = warmPoolSize }, o),
            cancellationToken, idempotent: true).ConfigureAwait(false);
    }

    /// <summary>Cancels a call, best effort and briefly: used when its caller has gone away.</summary>
    public static async Task CancelQuietlyAsync(GrpcConnection connection, string functionCallId)
    {
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await connection.CallAsync(
                o => connection.Client.FunctionCallCancelAsync(new FunctionCallCancelRequest { FunctionCallId = functionCallId }, o),
                limit.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is ModalException or OperationCanceledException)
        {
            // The call may have finished or the server gone; nothing more to do for a caller that left.
        }
    }

    private async Task<string> ResolveAsync(FunctionReference function, CancellationToken cancellationToken)
    {
        var appName = function.ResolveAppName(RunningAppName);
        if (appName == RunningAppName && _runningFunctionIds.TryGetValue(function.Name, out var runningId))
        {
            return runningId;
        }
        if (_functionIds.TryGetValue((appName, function.Name), out var cached))
        {
            return cached;
        }
        FunctionGetResponse response;
        try
        {
            response = await _connection.CallAsync(
                o => _connection.Client.FunctionGetAsync(new FunctionGetRequest { AppName = appName, FunctionName = function.Name }, o),
                cancellationToken, idempotent: true).ConfigureAwait(false);
        }
        catch (NotFoundException exception)
        {
            throw new NotFoundException(
                $"Function '{function.Name}' of app '{appName}' was not found on the control plane at {_connection.ServerUrl}: {exception.Message} " +
                "Deploy the app (ModalApp.DeployAsync) or check the app and function names.", exception);
        }
        _functionIds[(appName, function.Name)] = response.FunctionId;
        return response.FunctionId;
    }

    private static FunctionMapRequest NewMapRequest(string functionId, FunctionCallInvocation invocation, Payload arguments)
    {
        var request = new FunctionMapRequest
        {
            FunctionId = functionId,
            Invocation = invocation,
            ParentInputId = WorkerContext.CurrentInputId ?? string.Empty,
        };
        request.PipelinedInputs.Add(new FunctionInputItem { Index = 0, Arguments = arguments });
        return request;
    }

    private async Task<ReadOnlyMemory<byte>> WaitForOutputAsync(string functionCallId, string? functionName, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var result = await WaitForResultAsync(functionCallId, timeout, cancellationToken).ConfigureAwait(false);
        OutputMapper.ThrowIfFailed(result, functionName);
        return await _codec.DecodeAsync(result.Data, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Long-polls the first output of a call. Null waits without limit, zero asks once, otherwise polls until the
    /// time is up and throws <see cref="TimeoutException"/>.
    /// </summary>
    private async Task<Api.FunctionResult> WaitForResultAsync(string functionCallId, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var deadline = timeout is { } limit ? DateTime.UtcNow + limit : (DateTime?)null;
        while (true)
        {
            var wait = s_pollTimeout;
            if (deadline is { } end)
            {
                var remaining = end - DateTime.UtcNow;
                wait = remaining <= TimeSpan.Zero ? TimeSpan.Zero : (remaining < wait ? remaining : wait);
            }
            var request = new FunctionGetOutputsRequest
            {
                FunctionCallId = functionCallId,
                AfterCursor = 0,
                TimeoutSeconds = wait.TotalSeconds,
                MaxOutputs = 1,
            };
            var response = await _connection.CallAsync(
                o => _connection.Client.FunctionGetOutputsAsync(request, o), cancellationToken, idempotent: true).ConfigureAwait(false);
            if (response.Outputs.Count > 0)
            {
                return response.Outputs[0].Result;
            }
            if (deadline is { } due && DateTime.UtcNow >= due)
            {
                throw new TimeoutException(
                    $"Function call {functionCallId} has no output after {timeout!.Value.TotalSeconds:0.###} s; it goes on running. Call GetAsync again to keep waiting.");
            }
        }
    }

    private async Task<bool> MoveNextAsync(IAsyncStreamReader<DataChunk> stream, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.MoveNext(cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException exception) when (exception.StatusCode == StatusCode.Unavailable && !cancellationToken.IsCancellationRequested)
        {
            // A dropped stream resumes from the next index after the final output check.
            return false;
        }
        catch (RpcException exception)
        {
            throw _connection.Translate(exception, cancellationToken);
        }
    }
}
