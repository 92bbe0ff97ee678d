namespace Modal.InProcess;

/// <summary>
/// One function as the in-process mode runs it: a concurrency gate of <c>MaxContainers * MaxInputs</c> slots,
/// the backlog and runner counts, and the retry and timeout policy around each attempt.
/// </summary>
internal sealed class InProcessFunction
{
    private readonly SemaphoreSlim? _slots;
    private int _backlog;
    private int _runners;
    private int _warmPoolSize;

    public InProcessFunction(IFunctionEntrypoint entrypoint, FunctionDefinition definition, CancellationToken appStopping)
    {
        Entrypoint = entrypoint;
        Definition = definition;
        long concurrency = (long)Math.Max(1, definition.Options.MaxContainers) * Math.Max(1, definition.Options.MaxInputs);
        _slots = concurrency >= int.MaxValue ? null : new SemaphoreSlim((int)concurrency, (int)concurrency);
        if (definition.Kind == FunctionKind.Batched)
        {
            Batcher = new BatchDispatcher(this, definition.Options.Batch ?? new BatchOptions(1, 0), appStopping);
        }
    }

    public IFunctionEntrypoint Entrypoint { get; }

    public FunctionDefinition Definition { get; }

    public string Name => Definition.Name;

    /// <summary>Groups inputs into batches; only for <c>[Batched]</c> functions.</summary>
    public BatchDispatcher? Batcher { get; }

    public FunctionStats Stats => new(Volatile.Read(ref _backlog), Volatile.Read(ref _runners));

    public int WarmPoolSize
    {
        get => Volatile.Read(ref _warmPoolSize);
        set => Volatile.Write(ref _warmPoolSize, value);
    }

    /// <summary>
    /// Waits for a slot, then runs <paramref name="invoke"/> on the thread pool: each attempt gets a token that is
    /// cancelled at the function's timeout, user exceptions are retried per <c>[Retries]</c> and finally become
    /// <see cref="RemoteFunctionException"/>. Throws <see cref="OperationCanceledException"/> when
    /// <paramref name="cancellationToken"/> (the input's token) is cancelled, even if the function ignores it.
    /// </summary>
    public async Task<T> ExecuteAsync<T>(
        Func<CancellationToken, Task<T>> invoke, InputRecord? input, bool retry, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var policy = retry ? Definition.Options.Retries : RetryPolicy.None;
            for (int retryNumber = 1; ; retryNumber++)
            {
                try
                {
                    return await RunAttemptAsync(invoke, input, cancellationToken).ConfigureAwait(false);
                }
                catch (RemoteFunctionException) when (retryNumber <= policy.MaxRetries)
                {
                    // Retried below, after the policy's backoff.
                }
                await Task.Delay(policy.DelayBeforeRetry(retryNumber), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Exit();
        }
    }

    private async Task EnterAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _backlog);
        try
        {
            if (_slots is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
            else
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
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
        _slots?.Release();
    }

    private async Task<T> RunAttemptAsync<T>(Func<CancellationToken, Task<T>> invoke, InputRecord? input, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(Definition.Options.TimeoutSeconds));
        var token = deadline.Token;
        // The thread pool, so that a synchronous function does not run on (and block) the caller's thread.
        var attempt = Task.Run(() =>
        {
            CurrentInput.Value = input;
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
        catch (Exception exception) when (exception is InvalidInputException or NotFoundException)
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
