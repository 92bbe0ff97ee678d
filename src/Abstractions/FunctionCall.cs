namespace Modal;

/// <summary>
/// A spawned call, reachable by <see cref="ObjectId"/> from any process connected to the same control plane
/// (Modal's <c>FunctionCall</c>). <see cref="FunctionCall{R}"/> decodes its result as <c>R</c>.
/// </summary>
public class FunctionCall
{
    internal FunctionCall(string objectId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(objectId);
        ObjectId = objectId;
    }

    /// <summary>The call's id.</summary>
    public string ObjectId { get; }

    /// <summary>
    /// Waits for the result, decoded without a static type. Null waits without limit; <see cref="TimeSpan.Zero"/>
    /// polls once. Throws <see cref="TimeoutException"/> when there is no result in time; the call goes on.
    /// </summary>
    public async Task<object?> GetAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        => ModalSerializer.Deserialize<object?>(await GetOutputAsync(timeout, cancellationToken).ConfigureAwait(false));

    /// <summary>Blocking form of <see cref="GetAsync"/>.</summary>
    public object? Get(TimeSpan? timeout = null) => GetAsync(timeout).GetAwaiter().GetResult();

    /// <summary>Cancels the call's unfinished inputs; they end as terminated and are not retried (Modal's <c>cancel</c>).</summary>
    /// <param name="terminateContainers">Also stop the containers running them.</param>
    /// <param name="cancellationToken">Stops waiting for the acknowledgement.</param>
    public Task CancelAsync(bool terminateContainers = false, CancellationToken cancellationToken = default)
        => ModalBackend.Current.CancelCallAsync(ObjectId, terminateContainers, cancellationToken);

    /// <summary>The call's inputs and the calls they made (Modal's <c>get_call_graph</c>).</summary>
    public Task<IReadOnlyList<InputInfo>> GetCallGraphAsync(CancellationToken cancellationToken = default)
        => ModalBackend.Current.GetCallGraphAsync(ObjectId, cancellationToken);

    /// <summary>A typed handle to an existing call (Modal's <c>from_id</c>).</summary>
    public static FunctionCall<R> FromId<R>(string id) => new(id);

    /// <summary>An untyped handle to an existing call (Modal's <c>from_id</c>).</summary>
    public static FunctionCall FromId(string id) => new(id);

    /// <summary>Waits for every call; the first failure throws (Modal's <c>gather</c>).</summary>
    public static async Task<R[]> GatherAsync<R>(params FunctionCall<R>[] calls)
    {
        ArgumentNullException.ThrowIfNull(calls);
        return await WhenAllFailFast(Array.ConvertAll(calls, call => call.GetAsync())).ConfigureAwait(false);
    }

    /// <summary>Waits for every call, results decoded without a static type; the first failure throws.</summary>
    public static async Task<object?[]> GatherAsync(params FunctionCall[] calls)
    {
        ArgumentNullException.ThrowIfNull(calls);
        return await WhenAllFailFast(Array.ConvertAll(calls, call => call.GetAsync())).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override string ToString() => $"FunctionCall {ObjectId}";

    /// <summary>The longest finite wait a timer supports (about 49.7 days); longer limits wait without limit.</summary>
    private static readonly TimeSpan s_longestTimedWait = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private protected Task<ReadOnlyMemory<byte>> GetOutputAsync(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (timeout is { } limit)
        {
            if (limit == Timeout.InfiniteTimeSpan || limit > s_longestTimedWait)
            {
                timeout = null; // no timer can wait that long, and nothing is lost by waiting without limit
            }
            else if (limit < TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(timeout), limit,
                    "The timeout must be zero (poll once), positive, Timeout.InfiniteTimeSpan or null (wait without limit).");
            }
        }
        return ModalBackend.Current.GetCallOutputAsync(ObjectId, timeout, cancellationToken);
    }

    /// <summary>
    /// Every result in call order, or the first failure as soon as it happens: one continuation per task (linear in
    /// the number of calls) faults a shared completion, raced against <see cref="Task.WhenAll{TResult}(Task{TResult}[])"/>.
    /// </summary>
    private static async Task<T[]> WhenAllFailFast<T>(Task<T>[] tasks)
    {
        var firstFailure = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var task in tasks)
        {
            _ = task.ContinueWith(
                static (finished, state) =>
                {
                    var failure = (TaskCompletionSource)state!;
                    if (finished.IsCanceled)
                    {
                        failure.TrySetCanceled();
                    }
                    else
                    {
                        failure.TrySetException(finished.Exception!.InnerException ?? finished.Exception);
                    }
                },
                firstFailure, CancellationToken.None,
                TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        var all = Task.WhenAll(tasks);
        await Task.WhenAny(all, firstFailure.Task).ConfigureAwait(false);
        if (!all.IsCompletedSuccessfully)
        {
            _ = all.ContinueWith(static task => _ = task.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            await firstFailure.Task.ConfigureAwait(false); // throws the first failure, with its stack trace
        }
        return await all.ConfigureAwait(false);
    }
}
