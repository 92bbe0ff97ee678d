using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Modal.InProcess;

/// <summary>
/// Runs every call in this process through the registered generated entrypoints, with the remote semantics:
/// arguments and results round-trip through MessagePack, concurrency is bounded by
/// <c>MaxContainers * MaxInputs</c>, user exceptions are retried and then reported as
/// <see cref="RemoteFunctionException"/>, inputs time out, spawned calls are kept by id, and calls made from
/// inside a function form a call graph.
/// </summary>
internal sealed class InProcessBackend : IModalBackend, IAsyncDisposable
{
    private const int GeneratorBufferSize = 16;

    private readonly ConcurrentDictionary<string, InProcessFunction> _functions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CallRecord> _spawnedCalls = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    public InProcessBackend(string appName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appName);
        RunningAppName = appName;
    }

    /// <inheritdoc />
    public string RunningAppName { get; }

    /// <inheritdoc />
    public Task<string> HydrateAsync(FunctionReference function, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult("fu-" + Resolve(function).Name);
    }

    /// <inheritdoc />
    public Task<ReadOnlyMemory<byte>> CallAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var resolved = ResolveCallable(function, "called with RemoteAsync");
        return RunInputAsync(resolved, NewCall(resolved, spawned: false), arguments, cancellationToken);
    }

    /// <inheritdoc />
    public Task<string> SpawnAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var resolved = ResolveCallable(function, "spawned");
        var call = NewCall(resolved, spawned: true);
        // The spawning caller's token only covers the spawn itself; the call goes on until it ends or is cancelled.
        var result = Task.Run(() => RunInputAsync(resolved, call, arguments, CancellationToken.None), CancellationToken.None);
        result.ContinueWith(static task => _ = task.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        call.Result = result;
        return Task.FromResult(call.Id);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<MapOutput> MapAsync(
        FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, bool orderOutputs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var resolved = ResolveCallable(function, "mapped");
        return new MapRunner(this, resolved, NewCall(resolved, spawned: false)).RunAsync(inputs, orderOutputs, cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> CallGeneratorAsync(
        FunctionReference function, ReadOnlyMemory<byte> arguments, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var resolved = Resolve(function);
        if (resolved.Definition.Kind != FunctionKind.Generator)
        {
            throw new InvalidOperationException(
                $"Function '{resolved.Name}' is not a generator function; call it with RemoteAsync instead of RemoteGen.");
        }
        var call = NewCall(resolved, spawned: false);
        var input = call.AddInput();
        using var inputCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var token = inputCancellation.Token;
        var items = Channel.CreateBounded<ReadOnlyMemory<byte>>(
            new BoundedChannelOptions(GeneratorBufferSize) { SingleReader = true, SingleWriter = true });

        // Generators are not retried: items already streamed cannot be taken back.
        var pump = resolved.ExecuteAsync(
            async attemptToken =>
            {
                await foreach (var item in resolved.Entrypoint.InvokeGeneratorAsync(resolved.Name, arguments, attemptToken)
                                   .WithCancellation(attemptToken).ConfigureAwait(false))
                {
                    await items.Writer.WriteAsync(item, attemptToken).ConfigureAwait(false);
                }
                return true;
            },
            input, retry: false, token);
        _ = pump.ContinueWith(_ => items.Writer.TryComplete(), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        try
        {
            while (await items.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (items.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
            await AwaitInputAsync(pump, resolved, call, input, token, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // A caller that stops reading early cancels the generator.
            await inputCancellation.CancelAsync().ConfigureAwait(false);
            if (input.Status == InputStatus.Pending)
            {
                input.Status = InputStatus.Terminated;
            }
            _ = pump.ContinueWith(static task => _ = task.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <inheritdoc />
    public async Task<ReadOnlyMemory<byte>> GetCallOutputAsync(string functionCallId, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var call = FindCall(functionCallId);
        var result = call.Result ?? throw new NotFoundException($"Function call '{functionCallId}' has no output to wait for.");
        if (timeout is { } limit && !result.IsCompleted)
        {
            try
            {
                if (limit == TimeSpan.Zero)
                {
                    throw new TimeoutException();
                }
                await result.WaitAsync(limit, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException(
                    $"Function call {functionCallId} ({call.FunctionName}) has no output after {limit.TotalMilliseconds:0} ms; " +
                    "it is still running. Call GetAsync again to keep waiting.");
            }
        }
        return await result.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task CancelCallAsync(string functionCallId, bool terminateContainers, CancellationToken cancellationToken)
    {
        var call = FindCall(functionCallId);
        call.Cancel();
        if (call.Result is { } result)
        {
            // Returns once the call's input has ended as Terminated, which is prompt: every wait observes the token.
            try
            {
                await result.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ModalException)
            {
                // The call's own outcome; GetAsync reports it.
            }
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<InputInfo>> GetCallGraphAsync(string functionCallId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(FindCall(functionCallId).Snapshot());
    }

    /// <inheritdoc />
    public Task<FunctionStats> GetCurrentStatsAsync(FunctionReference function, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Resolve(function).Stats);
    }

    /// <inheritdoc />
    public Task KeepWarmAsync(FunctionReference function, int warmPoolSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(warmPoolSize);
        cancellationToken.ThrowIfCancellationRequested();
        // There are no containers to keep warm in this process; the size is recorded as the control plane would.
        Resolve(function).WarmPoolSize = warmPoolSize;
        return Task.CompletedTask;
    }

    /// <summary>Stops the app: every running or waiting input is cancelled and ends as Terminated.</summary>
    public async ValueTask DisposeAsync() => await _stopping.CancelAsync().ConfigureAwait(false);

    /// <summary>Runs one input of a call and classifies how it ended.</summary>
    internal async Task<ReadOnlyMemory<byte>> RunInputAsync(
        InProcessFunction function, CallRecord call, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var input = call.AddInput();
        using var inputCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call.CancellationToken, _stopping.Token);
        var token = inputCancellation.Token;
        var output = function.Batcher is { } batcher
            ? batcher.SubmitAsync(arguments, token)
            : function.ExecuteAsync(
                attemptToken => function.Entrypoint.InvokeAsync(function.Name, arguments, attemptToken).AsTask(),
                input, retry: true, token);
        return await AwaitInputAsync(output, function, call, input, token, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> AwaitInputAsync<T>(
        Task<T> output, InProcessFunction function, CallRecord call, InputRecord input, CancellationToken inputToken, CancellationToken callerToken)
    {
        try
        {
            var value = await output.ConfigureAwait(false);
            input.Status = InputStatus.Success;
            return value;
        }
        catch (OperationCanceledException) when (inputToken.IsCancellationRequested)
        {
            input.Status = InputStatus.Terminated;
            callerToken.ThrowIfCancellationRequested();
            throw RemoteFailures.Cancelled(function.Name, call.Id, input.Id, appStopped: !call.CancellationToken.IsCancellationRequested);
        }
        catch (FunctionTimeoutException)
        {
            input.Status = InputStatus.Timeout;
            throw;
        }
        catch (ModalException)
        {
            input.Status = InputStatus.Failure;
            throw;
        }
    }

    private CallRecord NewCall(InProcessFunction function, bool spawned)
    {
        var parent = CurrentInput.Value;
        var call = new CallRecord(Ids.NewCallId(), function.Name, tracked: spawned || parent is not null);
        parent?.AddChild(call);
        if (spawned)
        {
            _spawnedCalls[call.Id] = call;
        }
        return call;
    }

    private CallRecord FindCall(string functionCallId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(functionCallId);
        return _spawnedCalls.TryGetValue(functionCallId, out var call)
            ? call
            : throw new NotFoundException(
                $"Function call '{functionCallId}' does not exist in the running app '{RunningAppName}'. " +
                "In-process mode keeps only the calls spawned since this app started.");
    }

    private InProcessFunction ResolveCallable(FunctionReference function, string usage)
    {
        var resolved = Resolve(function);
        if (resolved.Definition.Kind == FunctionKind.Generator)
        {
            throw new InvalidOperationException(
                $"Function '{resolved.Name}' is a generator function and cannot be {usage}; iterate RemoteGen instead.");
        }
        return resolved;
    }

    private InProcessFunction Resolve(FunctionReference function)
    {
        ArgumentNullException.ThrowIfNull(function);
        var appName = function.ResolveAppName(RunningAppName);
        if (!string.Equals(appName, RunningAppName, StringComparison.Ordinal))
        {
            throw new NotFoundException(
                $"Function '{function.Name}' of app '{appName}' was not found: app '{appName}' is not deployed. " +
                $"In-process mode runs only the app '{RunningAppName}'.");
        }
        return _functions.TryGetValue(function.Name, out var known) ? known : Register(function.Name);
    }

    private InProcessFunction Register(string name)
    {
        var entrypoint = FunctionEntrypoints.Find(name) ?? throw new NotFoundException(
            $"Function '{name}' of app '{RunningAppName}' was not found: the app has no function of that name. " +
            $"Its functions: {string.Join(", ", FunctionEntrypoints.All.SelectMany(e => e.Functions).Select(f => f.Name))}.");
        var definition = entrypoint.Functions.First(f => f.Name == name);
        return _functions.GetOrAdd(name, _ => new InProcessFunction(entrypoint, definition, _stopping.Token));
    }
}
