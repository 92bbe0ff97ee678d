namespace Modal.InProcess;

/// <summary>
/// One function as the in-process mode runs it: a concurrency gate of <c>MaxContainers * MaxInputs</c> slots (the maximum as
/// <c>UpdateAutoscalerAsync</c> last set it),
/// the backlog and runner counts, and the retry and timeout policy around each attempt.
/// </summary>
internal sealed class InProcessFunction
{
    private readonly SlotGate _slots;
    private int _backlog;
    private int _runners;
    private int _warmPoolSize;
    private (int Min, int Max) _containers;

    public InProcessFunction(IFunctionEntrypoint entrypoint, FunctionDefinition definition, CancellationToken appStopping, ClsPool? pool = null)
    {
        Entrypoint = entrypoint;
        Definition = definition;
        Pool = pool;
        _containers = (definition.Options.MinContainers, definition.Options.MaxContainers);
        _slots = new SlotGate(Slots(definition.Options.MaxContainers));
        if (definition.Kind == FunctionKind.Batched)
        {
            Batcher = new BatchDispatcher(this, definition.Options.Batch ?? new BatchOptions(1, 0), appStopping);
        }
    }

    public IFunctionEntrypoint Entrypoint { get; }

    public FunctionDefinition Definition { get; }

    public string Name => Definition.Name;

    /// <summary>The containers (instances) of a <c>[Cls]</c> parameter set; null for a function.</summary>
    public ClsPool? Pool { get; }

    /// <summary>Groups inputs into batches; only for <c>[Batched]</c> functions.</summary>
    public BatchDispatcher? Batcher { get; }

    /// <summary>
    /// Backlog: inputs waiting for a slot, or between attempts. Runners: inputs running, and at least the containers
    /// kept warm (<c>KeepWarmAsync</c>, <c>MinContainers</c>) as the control plane counts idle warm containers.
    /// </summary>
    public FunctionStats Stats
    {
        get
        {
            (int Min, int Max) containers;
            lock (_slots)
            {
                containers = _containers;
            }
            int warm = Math.Min(Math.Max(WarmPoolSize, containers.Min), Math.Max(1, containers.Max));
            return new(Volatile.Read(ref _backlog), Math.Max(Math.Max(Volatile.Read(ref _runners), warm), Pool?.Containers ?? 0));
        }
    }

    public int WarmPoolSize
    {
        get => Volatile.Read(ref _warmPoolSize);
        set => Volatile.Write(ref _warmPoolSize, value);
    }

    /// <summary>
    /// Lays autoscaler settings over the declared ones, as the control plane does: the minimum counts as warm runners, the
    /// maximum bounds the slots (containers times inputs per container). Buffer containers and the scaledown window have
    /// nothing to act on in this process; they are checked only.
    /// </summary>
    /// <exception cref="ArgumentException">The minimum would be above the maximum.</exception>
    public void UpdateAutoscaler(int? minContainers, int? maxContainers)
    {
        lock (_slots)
        {
            var (min, max) = (minContainers ?? _containers.Min, maxContainers ?? _containers.Max);
            if (min > max)
            {
                throw new ArgumentException(
                    $"UpdateAutoscalerAsync on '{Name}': min_containers would be {min} and max_containers {max}; the minimum cannot be above the " +
                    "maximum. Lower minContainers or raise maxContainers (both may be set in one update).");
            }
            _containers = (min, max);
            _slots.SetLimit(Slots(max));
        }
    }

    private long Slots(int maxContainers) => (long)Math.Max(1, maxContainers) * Math.Max(1, Definition.Options.MaxInputs);

    /// <summary>
    /// Runs <paramref name="invoke"/> on the thread pool, each attempt in a slot of its own: an attempt gets a token
    /// that is cancelled at the function's timeout; user exceptions and timeouts are retried per <c>[Retries]</c>
    /// (Modal: "a timeout ... after exhausting any specified retries"), the input waiting out the backoff in the
    /// backlog without holding a slot, as a re-queued remote input does; the last failure is thrown as
    /// <see cref="RemoteFunctionException"/> or <see cref="FunctionTimeoutException"/>. Throws
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> (the input's token) is
    /// cancelled, even if the function ignores it; a cancelled (terminated) input is never retried.
    /// </summary>
    /// <param name="invoke">One attempt.</param>
    /// <param name="inputs">The inputs the attempt runs, parents of the calls it makes; null for none.</param>
    /// <param name="retry">False for generators: streamed items cannot be taken back.</param>
    /// <param name="cancellationToken">The input's token.</param>
    public async Task<T> ExecuteAsync<T>(
        Func<CancellationToken, Task<T>> invoke, IReadOnlyList<InputRecord>? inputs, bool retry, CancellationToken cancellationToken)
    {
        var policy = retry ? Definition.Options.Retries : RetryPolicy.None;
        for (int retryNumber = 1; ; retryNumber++)
        {
            await EnterAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await RunAttemptAsync(invoke, inputs, cancellationToken).ConfigureAwait(false);
            }
            catch (ModalException failure) when (failure is RemoteFunctionException { RemoteType: not RemoteFailures.InitFailureType } or FunctionTimeoutException
                                                 && retryNumber <= policy.MaxRetries && !cancellationToken.IsCancellationRequested)
            {
                // Retried below, after the policy's backoff.
            }
            catch (RemoteFunctionException failure) when (failure.Attempts == 0)
            {
                throw failure.WithAttempts(retryNumber);
            }
            finally
            {
                Exit();
            }
            Interlocked.Increment(ref _backlog);
            try
            {
                await Task.Delay(policy.DelayBeforeRetry(retryNumber), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _backlog);
            }
        }
    }

    private async Task EnterAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _backlog);
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _backlog);
        }
        Interlocked.Increment(ref _runners);
    }

    private void Exit()
    {
        Interlocked.Decrement(ref _runners);
        _slots.Release();
    }

    private async Task<T> RunAttemptAsync<T>(Func<CancellationToken, Task<T>> invoke, IReadOnlyList<InputRecord>? inputs, CancellationToken cancellationToken)
    {
        // Cancelled while it waited for a slot: it does not start (once started, the attempt below is awaited with the token,
        // but a quick function may already have finished, and its result would be returned).
        cancellationToken.ThrowIfCancellationRequested();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(Definition.Options.TimeoutSeconds));
        var token = deadline.Token;
        // The thread pool, so that a synchronous function does not run on (and block) the caller's thread.
        var attempt = Task.Run(() =>
        {
            CurrentInput.Value = inputs;
            return invoke(token);
        }, CancellationToken.None);
        try
        {
            return await attempt.WaitAsync(token).ConfigureAwait(false);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            Abandon(attempt);
            throw new OperationCanceledException(cancellationToken);
        }
        catch (Exception) when (deadline.IsCancellationRequested)
        {
            // A function that ignores its token keeps running, but its caller is failed at the deadline,
            // as a remote worker that does not stop is killed.
            Abandon(attempt);
            throw RemoteFailures.Timeout(Definition);
        }
        catch (ClsInitFailure initFailure)
        {
            // Not the input's own failure: it is not retried, and it reads as the control plane reports it.
            throw initFailure.Failure;
        }
        catch (Exception exception) when (exception is InvalidInputException or NotFoundException or PayloadException)
        {
            throw;
        }
        catch (Exception exception)
        {
            throw RemoteFailures.FromUserException(exception, Name);
        }
    }

    private static void Abandon(Task attempt)
        => attempt.ContinueWith(
            static task => _ = task.Exception,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
}
