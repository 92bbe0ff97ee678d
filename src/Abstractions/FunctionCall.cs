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

    private protected Task<ReadOnlyMemory<byte>> GetOutputAsync(TimeSpan? timeout, CancellationToken cancellationToken)
    {
        if (timeout is { } limit && limit < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), limit, "The timeout must be zero (poll once), positive, or null (wait without limit).");
        }
        return ModalBackend.Current.GetCallOutputAsync(ObjectId, timeout, cancellationToken);
    }

    private static async Task<T[]> WhenAllFailFast<T>(Task<T>[] tasks)
    {
        var pending = new HashSet<Task<T>>(tasks);
        while (pending.Count > 0)
        {
            var finished = await Task.WhenAny(pending).ConfigureAwait(false);
            pending.Remove(finished);
            await finished.ConfigureAwait(false); // throws the first failure as soon as it happens
        }
        return Array.ConvertAll(tasks, task => task.Result);
    }
}
