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
    private readonly ConcurrentDictionary<FunctionDefinition, InProcessFunction> _byDefinition = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<(string Function, string Variant), InProcessFunction> _variants = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly InProcessOptions _options;
    private readonly SpawnedCalls _spawnedCalls;
    private readonly Func<string, IReadOnlyList<IFunctionEntrypoint>> _entrypointsOf;
    private OwnEntrypointsSnapshot? _own;

    /// <param name="appName">The running app's name.</param>
    /// <param name="options">Retention limits; <see cref="InProcessOptions.Default"/> when null.</param>
    /// <param name="entrypointsOf">
    /// The entrypoints an app of that name runs; by default <see cref="Hosting.AppIdentity.EntrypointsOf"/>.
    /// </param>
    public InProcessBackend(string appName, InProcessOptions? options = null, Func<string, IReadOnlyList<IFunctionEntrypoint>>? entrypointsOf = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appName);
        RunningAppName = appName;
        _options = options ?? InProcessOptions.Default;
        _spawnedCalls = new SpawnedCalls(_options);
        _entrypointsOf = entrypointsOf ?? Hosting.AppIdentity.EntrypointsOf;
    }

    /// <inheritdoc />
    public string RunningAppName { get; }

    /// <summary>True for the functions of this app's own entrypoints, not for another app's compiled into the process.</summary>
    public bool Runs(FunctionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        if (_byDefinition.ContainsKey(definition))
        {
            return true;
        }
        foreach (var entrypoint in OwnEntrypoints())
        {
            foreach (var function in entrypoint.Functions)
            {
                if (ReferenceEquals(function, definition))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <inheritdoc />
    public Task<string> HydrateAsync(FunctionReference function, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult("fu-" + Resolve(function).Name);
    }

    /// <inheritdoc />
    public Task<ReadOnlyMemory<byte>> CallAsync(FunctionReference function, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        // A call cancelled before it starts never runs, as in the remote modes, whose clients send nothing then.
        cancellationToken.ThrowIfCancellationRequested();
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
        _spawnedCalls.Add(call, result);
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
    public async Task<string> SpawnMapAsync(FunctionReference function, IAsyncEnumerable<ReadOnlyMemory<byte>> inputs, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var resolved = ResolveCallable(function, "spawned as a map");
        // Every input is read before any runs, as the remote modes commit them all before SpawnMapAsync returns.
        var arguments = new List<ReadOnlyMemory<byte>>();
        await foreach (var input in inputs.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            arguments.Add(input);
        }
        var call = NewCall(resolved, spawned: true);
        var results = new Task<ReadOnlyMemory<byte>>[arguments.Count];
        for (var i = 0; i < results.Length; i++)
        {
            var argument = arguments[i];
            // The caller's token only covers sending; the map goes on until it ends, is cancelled or the app stops.
            results[i] = Task.Run(() => RunInputAsync(resolved, call, argument, CancellationToken.None), CancellationToken.None);
            _ = results[i].ContinueWith(static task => _ = task.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        call.MapResults = results;
        var ended = Task.WhenAll(results).ContinueWith(static _ => ModalSerializer.Nil, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        call.Result = ended;
        _spawnedCalls.Add(call, ended);
        return call.Id;
    }

    /// <inheritdoc />
    public Task<int> GetCallInputCountAsync(string functionCallId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(FindCall(functionCallId).MapResults?.Length ?? 1);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<MapOutput> GetCallOutputsAsync(string functionCallId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var call = FindCall(functionCallId);
        var results = call.MapResults
            ?? (call.Result is { } single ? [single] : throw new NotFoundException($"Function call '{functionCallId}' has no output to wait for."));
        var indexes = new Dictionary<Task, int>(results.Length, ReferenceEqualityComparer.Instance);
        for (var i = 0; i < results.Length; i++)
        {
            indexes[results[i]] = i;
        }
        await foreach (var done in Task.WhenEach(results).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var index = indexes[done];
            yield return done.IsCompletedSuccessfully
                ? new MapOutput(index, done.Result, null)
                : new MapOutput(index, default, done.Exception?.InnerException as ModalException
                    ?? new ModalException($"Input {index} of call {functionCallId} ended without an output.", done.Exception));
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> CallGeneratorAsync(
        FunctionReference function, ReadOnlyMemory<byte> arguments, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var resolved = Resolve(function);
        if (resolved.Definition.Kind != FunctionKind.Generator && resolved.Pool is null)
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

        async Task<bool> PumpAsync(IAsyncEnumerable<ReadOnlyMemory<byte>> source, CancellationToken attemptToken)
        {
            await foreach (var item in source.WithCancellation(attemptToken).ConfigureAwait(false))
            {
                await items.Writer.WriteAsync(item, attemptToken).ConfigureAwait(false);
            }
            return true;
        }

        // Generators are not retried: items already streamed cannot be taken back.
        var pump = resolved.ExecuteAsync(
            attemptToken => resolved.Pool is { } pool
                ? pool.RunAsync(instance => PumpAsync(instance.InvokeGeneratorAsync(arguments, attemptToken), attemptToken), attemptToken)
                : PumpAsync(resolved.Entrypoint.InvokeGeneratorAsync(resolved.Name, arguments, attemptToken), attemptToken),
            [input], retry: false, token);
        _ = pump.ContinueWith(_ => items.Writer.TryComplete(), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        try
        {
            while (await WaitForItemsAsync(items.Reader, token).ConfigureAwait(false))
            {
                while (items.Reader.TryRead(out var item))
                {
                    yield return item;
                }
            }
            // Also after a cancellation: the pump then ends promptly, and the input's end is classified as for unary
            // calls (the caller's own token: OperationCanceledException; CancelAsync or app stop: InputCancelledException).
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

    /// <summary>Waits for items; false when the generator has ended or the input was cancelled.</summary>
    private static async ValueTask<bool> WaitForItemsAsync(ChannelReader<ReadOnlyMemory<byte>> reader, CancellationToken token)
    {
        try
        {
            return await reader.WaitToReadAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return false;
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
        // A function has no containers to keep warm in this process; the size is recorded as the control plane would. A
        // [Cls] parameter set's containers are instances: they are started (and entered) now, in the background, as the
        // control plane launches warm containers after it has answered.
        var resolved = Resolve(function);
        resolved.WarmPoolSize = warmPoolSize;
        if (resolved.Pool is { } pool)
        {
            _ = pool.KeepWarmAsync(warmPoolSize, _stopping.Token).ContinueWith(static task => _ = task.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task UpdateAutoscalerAsync(FunctionReference function, int? minContainers, int? maxContainers, int? bufferContainers,
        int? scaledownWindowSeconds, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // No containers start or stop in this process: the minimum counts as warm runners, the maximum bounds the slots.
        Resolve(function).UpdateAutoscaler(minContainers, maxContainers);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops the app: every running or waiting input is cancelled and ends as Terminated, then every [Cls] container
    /// stops gracefully (its [Exit] runs).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var function in _functions.Values.Concat(_variants.Values))
        {
            if (function.Pool is { } pool)
            {
                await pool.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs one input of a call and classifies how it ended.</summary>
    internal async Task<ReadOnlyMemory<byte>> RunInputAsync(
        InProcessFunction function, CallRecord call, ReadOnlyMemory<byte> arguments, CancellationToken cancellationToken)
    {
        var input = call.AddInput();
        using var inputCancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, call.CancellationToken, _stopping.Token);
        var token = inputCancellation.Token;
        var output = function.Batcher is { } batcher
            ? batcher.SubmitAsync(arguments, input, token)
            : function.ExecuteAsync(
                attemptToken => function.Pool is { } pool
                    ? pool.RunAsync(instance => instance.InvokeAsync(arguments, attemptToken).AsTask(), attemptToken)
                    : function.Entrypoint.InvokeAsync(function.Name, arguments, attemptToken).AsTask(),
                [input], retry: true, token);
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
        catch (RemoteFunctionException failure) when (failure.RemoteType == RemoteFailures.InitFailureType)
        {
            input.Status = InputStatus.InitFailure;
            throw;
        }
        catch (ModalException)
        {
            input.Status = InputStatus.Failure;
            throw;
        }
    }

    /// <summary>
    /// A new call. Spawned calls are kept by id and start a call graph of their own; a call made inside recorded inputs
    /// (one, or a batch's) becomes a child of each of them while their graph's budget lasts; other calls record nothing.
    /// </summary>
    private CallRecord NewCall(InProcessFunction function, bool spawned)
    {
        var budget = spawned ? new GraphBudget(_options.MaxCallGraphEntries) : null;
        List<InputRecord>? parents = null;
        if (CurrentInput.Value is { } running)
        {
            foreach (var parent in running)
            {
                if (parent.Budget is { } parentBudget && parentBudget.TryTake())
                {
                    (parents ??= []).Add(parent);
                    budget ??= parentBudget;
                }
            }
        }
        var call = new CallRecord(Ids.NewCallId(), function.Name, budget);
        if (parents is not null)
        {
            foreach (var parent in parents)
            {
                parent.AddChild(call);
            }
        }
        return call;
    }

    private CallRecord FindCall(string functionCallId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(functionCallId);
        return _spawnedCalls.TryGet(functionCallId, out var call)
            ? call
            : throw new NotFoundException(
                $"Function call '{functionCallId}' does not exist in the running app '{RunningAppName}'. " +
                $"In-process mode keeps the calls spawned since this app started, each finished one for {_options.ResultRetention.TotalDays:0.###} days " +
                $"and at most the newest {_options.MaxRetainedCalls} finished ones.");
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

    /// <summary>
    /// The function a reference reaches: a handle's own compiled function when this app runs it, else the running
    /// app's function of that name; a reference to any other app is not found, since only this app runs here.
    /// </summary>
    private InProcessFunction Resolve(FunctionReference function)
    {
        var declared = ResolveDeclared(function);
        if (function.Variant is not { } variant)
        {
            return declared;
        }
        // A variant runs apart from the function and from other variants: its own concurrency, timeout, retries and batches.
        return _variants.GetOrAdd((declared.Name, variant.Key), _ =>
        {
            var definition = declared.Definition;
            var options = variant.ApplyTo(definition.Options);
            // A [Cls] parameter set is a variant too: its containers are instances created with its parameters.
            var pool = declared.Entrypoint.FindCls(declared.Name) is { } cls
                ? new ClsPool(cls, variant.ParameterPayload, options, _options.TimeProvider, _stopping.Token)
                : null;
            return new InProcessFunction(declared.Entrypoint,
                new FunctionDefinition(definition.DefaultAppName, definition.Name, definition.Kind, options, definition.Signature, definition.HasResult, definition.ParameterCount),
                _stopping.Token, pool);
        });
    }

    /// <summary>The function as declared, without a variant's overrides.</summary>
    private InProcessFunction ResolveDeclared(FunctionReference function)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (function.AppName is null && function.Definition is { } compiled && _byDefinition.TryGetValue(compiled, out var cached))
        {
            return cached;
        }
        var appName = function.ResolveAppName(this);
        if (!string.Equals(appName, RunningAppName, StringComparison.Ordinal))
        {
            throw new NotFoundException(
                $"Function '{function.Name}' of app '{appName}' was not found: app '{appName}' is not running or deployed. " +
                $"In-process mode runs only the app '{RunningAppName}'.");
        }
        if (function.Version is { } version)
        {
            // The only code here is this process's own build, which no deploy made: there is no version to pin.
            throw new NotFoundException(
                $"Function '{function.Name}' of app '{appName}' has no version {version} in in-process mode, which runs this process's own build " +
                "and no deployed version. Call it without a version, or deploy the app and reach it through a control plane (ModalMode.Remote).");
        }
        var resolved = _functions.TryGetValue(function.Name, out var known) ? known : Register(function.Name);
        if (function.Definition is { } definition && ReferenceEquals(definition, resolved.Definition))
        {
            _byDefinition.TryAdd(definition, resolved);
        }
        return resolved;
    }

    private InProcessFunction Register(string name)
    {
        foreach (var entrypoint in OwnEntrypoints())
        {
            foreach (var definition in entrypoint.Functions)
            {
                if (definition.Name == name)
                {
                    return _functions.GetOrAdd(name, _ => new InProcessFunction(entrypoint, definition, _stopping.Token,
                        entrypoint.FindCls(name) is { } cls ? new ClsPool(cls, ReadOnlyMemory<byte>.Empty, definition.Options, _options.TimeProvider, _stopping.Token) : null));
                }
            }
        }
        throw new NotFoundException(
            $"Function '{name}' of app '{RunningAppName}' was not found: the app has no function of that name. " +
            $"Its functions: {string.Join(", ", OwnEntrypoints().SelectMany(e => e.Functions).Select(f => f.Name))}.");
    }

    /// <summary>This app's entrypoints, recomputed when another assembly registers its entrypoint.</summary>
    private IReadOnlyList<IFunctionEntrypoint> OwnEntrypoints()
    {
        var registered = FunctionEntrypoints.All;
        var own = Volatile.Read(ref _own);
        if (own is null || !ReferenceEquals(own.Registered, registered))
        {
            own = new OwnEntrypointsSnapshot(registered, _entrypointsOf(RunningAppName));
            Volatile.Write(ref _own, own);
        }
        return own.Own;
    }

    private sealed record OwnEntrypointsSnapshot(IReadOnlyList<IFunctionEntrypoint> Registered, IReadOnlyList<IFunctionEntrypoint> Own);
}
